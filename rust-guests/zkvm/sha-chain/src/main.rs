//! Proof-throughput guest: `{"rounds": N, "seed": "..."}` in; h0 = SHA-256(seed), h(i+1) = SHA-256(h(i));
//! commits `{"rounds": N, "digest": hex(hN)}`. Cycles grow linearly with N, so benchmarks pick N for a size.
use std::io::Read;

use risc0_zkvm::guest::env;
use risc0_zkvm::sha::{Impl, Sha256};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    rounds: u32,
    seed: String,
}

fn main() {
    let mut raw = Vec::new();
    env::stdin().read_to_end(&mut raw).expect("stdin");
    let input: Input = serde_json::from_slice(&raw).unwrap_or_else(|e| {
        panic!("sha-chain: input must be {{\"rounds\": u32, \"seed\": string}}: {e}")
    });
    assert!(input.rounds >= 1, "sha-chain: rounds must be at least 1");
    let mut digest = *Impl::hash_bytes(input.seed.as_bytes());
    for _ in 1..input.rounds {
        digest = *Impl::hash_bytes(digest.as_bytes());
    }
    let hex: String = digest
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    env::commit_slice(format!("{{\"rounds\":{},\"digest\":\"{hex}\"}}", input.rounds).as_bytes());
}
