//! Composition: `{"image_id": "<hex>", "journal": "<text>"}` in; the guest asserts, with `env::verify`, that a
//! receipt of that image with exactly that journal exists, and commits `{"verified": {"image_id", "journal"}}`.
//! The prover must supply that receipt as an assumption; a succinct proof resolves it, so the final receipt stands
//! alone.
use std::io::Read;

use risc0_zkvm::{guest::env, sha::Digest};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    image_id: String,
    journal: String,
}

fn digest(hex: &str) -> Digest {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<_>>()
        .unwrap_or_else(|| panic!("compose: image_id must be hex"));
    Digest::try_from(bytes.as_slice())
        .unwrap_or_else(|_| panic!("compose: image_id must be 32 bytes"))
}

fn main() {
    let mut raw = Vec::new();
    env::stdin().read_to_end(&mut raw).expect("stdin");
    let input: Input = serde_json::from_slice(&raw).unwrap_or_else(|e| {
        panic!("compose: input must be {{\"image_id\": hex, \"journal\": text}}: {e}")
    });
    env::verify(digest(&input.image_id), input.journal.as_bytes()).expect("env::verify");
    let out =
        serde_json::json!({"verified": {"image_id": input.image_id, "journal": input.journal}});
    env::commit_slice(out.to_string().as_bytes());
}
