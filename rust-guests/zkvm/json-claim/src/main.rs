//! `{"document": "<JSON text>" or a JSON value, "claim": {"path": "bazz", "op": "eq", "value": 123}}` in;
//! commits `{"claim": ..., "found": bool, "holds": bool, "document_sha256": hex or null, "input_sha256": hex}`.
//! A document given as text is hashed as exactly the bytes the caller holds (`document_sha256`; null for a
//! document given as a value); it is not committed, so the receipt reveals only the claim and the hashes.
//! `input_sha256` is of the whole input, so that a chain of steps can prove what this step read.
use std::io::Read;

use claims::{evaluate, Claim};
use risc0_zkvm::guest::env;
use risc0_zkvm::sha::{Impl, Sha256};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    document: serde_json::Value,
    claim: Claim,
}

#[derive(Serialize)]
struct Journal<'a> {
    #[serde(flatten)]
    verdict: claims::Verdict<'a>,
    document_sha256: Option<String>,
    input_sha256: String,
}

fn hex(data: &[u8]) -> String {
    Impl::hash_bytes(data)
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn main() {
    let mut raw = Vec::new();
    env::stdin().read_to_end(&mut raw).expect("stdin");
    let input: Input = serde_json::from_slice(&raw).unwrap_or_else(|e| {
        panic!("json-claim: input must be {{\"document\": \"<JSON text>\", \"claim\": {{\"path\", \"op\", \"value\"}}}}: {e}")
    });
    let (doc, document_sha256) = match input.document {
        serde_json::Value::String(text) => (
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("json-claim: document is not valid JSON: {e}")),
            Some(hex(text.as_bytes())),
        ),
        value => (value, None),
    };
    let journal = Journal {
        verdict: evaluate(&doc, &input.claim),
        document_sha256,
        input_sha256: hex(&raw),
    };
    env::commit_slice(&serde_json::to_vec(&journal).expect("journal encodes"));
}
