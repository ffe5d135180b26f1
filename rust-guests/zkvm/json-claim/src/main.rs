//! `{"document": "<JSON text>", "claim": {"path": "bazz", "op": "eq", "value": 123}}` in;
//! commits `{"claim": ..., "found": bool, "holds": bool, "document_sha256": hex}`.
//! The document travels as text so that its hash is over exactly the bytes the caller holds; it is not
//! committed, so the receipt reveals only the claim and the hash.
use std::io::Read;

use claims::{evaluate, Claim};
use risc0_zkvm::guest::env;
use risc0_zkvm::sha::{Impl, Sha256};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    document: String,
    claim: Claim,
}

#[derive(Serialize)]
struct Journal<'a> {
    #[serde(flatten)]
    verdict: claims::Verdict<'a>,
    document_sha256: String,
}

fn main() {
    let mut raw = Vec::new();
    env::stdin().read_to_end(&mut raw).expect("stdin");
    let input: Input = serde_json::from_slice(&raw).unwrap_or_else(|e| {
        panic!("json-claim: input must be {{\"document\": \"<JSON text>\", \"claim\": {{\"path\", \"op\", \"value\"}}}}: {e}")
    });
    let doc: serde_json::Value = serde_json::from_str(&input.document)
        .unwrap_or_else(|e| panic!("json-claim: document is not valid JSON: {e}"));
    let digest = Impl::hash_bytes(input.document.as_bytes());
    let journal = Journal {
        verdict: evaluate(&doc, &input.claim),
        document_sha256: digest
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    };
    env::commit_slice(&serde_json::to_vec(&journal).expect("journal encodes"));
}
