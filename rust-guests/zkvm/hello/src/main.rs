//! The smallest RISC Zero guest: `{"words": [u32, ...]}` in, `{"count": N, "sum": S}` out (wrapping sum).
//! Bad input is a guest panic with a message that names the problem, which is what Loom's error tests use.
use std::io::Read;

use risc0_zkvm::guest::env;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    words: Vec<u32>,
}

fn main() {
    let mut raw = Vec::new();
    env::stdin().read_to_end(&mut raw).expect("stdin");
    let input: Input = serde_json::from_slice(&raw)
        .unwrap_or_else(|e| panic!("hello: input must be {{\"words\": [u32, ...]}}: {e}"));
    let sum = input.words.iter().fold(0u32, |acc, w| acc.wrapping_add(*w));
    let out = format!("{{\"count\":{},\"sum\":{}}}", input.words.len(), sum);
    env::commit_slice(out.as_bytes());
}
