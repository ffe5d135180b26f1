//! zkTLS: verifies a TLSNotary presentation inside the zkVM, then commits what it establishes and the truth of
//! a claim about the server's response, but not the transcript itself (unless `"reveal": true`).
//!
//! In: `{"presentation": "<base64>", "policy": {...as for tlsn-verify...}, "claim": {"path", "op", "value"},
//! "bytes": {"direction": "received", "start": 0, "text": "HTTP/1.1 200"}, "reveal": false}`, with at least
//! one of `claim` (over the JSON body of the fully revealed response) and `bytes` (the transcript bytes at
//! `start` equal `text`, or `hex`).
//! Out: the notary key, server name, session time, a SHA-256 of each direction's revealed bytes, each claim
//! with its verdict, and `holds` (all of them hold). A false claim still gives a receipt: it says `holds: false`.
//! A presentation that does not verify against the policy (tampered, untrusted notary, wrong server, too old)
//! gives no receipt at all: the guest stops with the verifier's reason, so no receipt ever names a notary or
//! a server that was not checked.
use std::io::Read;

use claims::{evaluate, Claim};
use risc0_zkvm::guest::env;
use risc0_zkvm::sha::{Impl, Sha256};
use serde::Deserialize;
use serde_json::{json, Value};
use tlsn_verifier::ranges::RangeSet;
use tlsn_verifier::transcript::Revealed;
use tlsn_verifier::{hex, to_json, PolicyFields, Request};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    presentation: String,
    policy: PolicyFields,
    #[serde(default)]
    claim: Option<Claim>,
    #[serde(default)]
    bytes: Option<BytesClaim>,
    #[serde(default)]
    reveal: bool,
    /// Adds `"cycles"`: where the guest's cycles went, phase by phase (deterministic, so safe to commit).
    #[serde(default)]
    profile: bool,
    /// `false` runs the portable arithmetic instead of RISC Zero's bigint circuits: the same verdict in many
    /// more cycles, to measure what the accelerator saves.
    #[serde(default = "yes")]
    accelerate: bool,
}

fn yes() -> bool {
    true
}

/// The transcript bytes from `start` in one direction equal `text` (UTF-8) or `hex`.
#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct BytesClaim {
    #[serde(default = "received")]
    direction: String,
    start: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hex: Option<String>,
}

fn received() -> String {
    "received".into()
}

fn stop(msg: impl core::fmt::Display) -> ! {
    panic!("tlsn-claim: {msg}")
}

fn main() {
    let mut raw = Vec::new();
    env::stdin().read_to_end(&mut raw).expect("stdin");
    let input: Input =
        serde_json::from_slice(&raw).unwrap_or_else(|e| stop(format_args!("bad input: {e}")));
    if input.claim.is_none() && input.bytes.is_none() {
        stop("nothing to prove: give a \"claim\" over the response JSON and/or a \"bytes\" claim");
    }
    let (presentation, policy) = Request {
        presentation: input.presentation,
        policy: input.policy,
    }
    .decode()
    .unwrap_or_else(|e| stop(e));
    tlsn_verifier::accel::set_enabled(input.accelerate);
    let mut cycles = Cycles::start();
    cycles.mark("input");
    let verified =
        tlsn_verifier::verify_traced(&presentation, &policy, &mut |phase| cycles.mark(phase))
            .unwrap_or_else(|e| stop(e));
    let Some((sent, received)) = &verified.transcript else {
        stop("the presentation reveals no transcript, so there is nothing to make a claim about")
    };

    let json_verdict = input.claim.as_ref().map(|claim| {
        let body = response_json(received).unwrap_or_else(|why| stop(why));
        serde_json::to_value(evaluate(&body, claim)).expect("verdicts serialize")
    });
    let bytes_verdict = input.bytes.as_ref().map(|claim| {
        let side = match claim.direction.as_str() {
            "sent" => sent,
            "received" => received,
            other => stop(format_args!("bytes.direction must be \"sent\" or \"received\", not {other:?}")),
        };
        let want = match (&claim.text, &claim.hex) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(h)) => unhex(h).unwrap_or_else(|| stop(format_args!("bytes.hex is not hex: {h:?}"))),
            _ => stop("bytes needs exactly one of \"text\" and \"hex\""),
        };
        let found = claim.start.checked_add(want.len() as u64).and_then(|end| {
            let wanted = RangeSet::from_normalized(vec![(claim.start, end)]).ok()?;
            side.authenticated.gather(&side.data, &wanted)
        });
        json!({"claim": claim, "revealed": found.is_some(), "holds": found.as_deref() == Some(&want[..])})
    });
    let holds = [&json_verdict, &bytes_verdict]
        .into_iter()
        .flatten()
        .all(|v| v["holds"] == true);

    let report = to_json(&verified);
    let mut journal = json!({
        "notary": report["notary"],
        "server": verified.server.as_ref().map(|(name, _)| name),
        "time": verified.time,
        "tls_version": report["tls_version"],
        "transcript": {"sent": digest(sent), "received": digest(received)},
        "claim": json_verdict,
        "bytes": bytes_verdict,
        "holds": holds,
    });
    if input.reveal {
        journal["revealed"] = report["transcript"].clone();
    }
    if input.profile {
        cycles.mark("claims and journal");
        journal["cycles"] = cycles
            .phases
            .into_iter()
            .map(|(phase, n)| json!([phase, n]))
            .collect();
    }
    env::commit_slice(&serde_json::to_vec(&journal).expect("journal encodes"));
}

/// Cycles spent per phase, from the guest's own cycle counter.
struct Cycles {
    last: u64,
    phases: Vec<(&'static str, u64)>,
}

impl Cycles {
    fn start() -> Cycles {
        Cycles {
            last: 0,
            phases: Vec::new(),
        }
    }

    fn mark(&mut self, phase: &'static str) {
        let now = env::cycle_count();
        self.phases.push((phase, now - self.last));
        self.last = now;
    }
}

/// The response body as JSON, if the whole response is revealed and its body is JSON.
fn response_json(received: &Revealed) -> Result<Value, String> {
    if !received.authenticated.complement(received.total).is_empty() {
        return Err("a JSON claim needs the whole response revealed; parts are redacted (use a bytes claim)".into());
    }
    let response = tlsn_verifier::http::parse(&received.data, true)
        .map_err(|e| format!("the response is not an HTTP response: {e}"))?;
    match response.get("json") {
        Some(Value::Null) | None => Err("the response body is not JSON".into()),
        Some(body) => Ok(body.clone()),
    }
}

/// What a holder of the transcript can recompute: the revealed ranges and the SHA-256 of their bytes in order.
fn digest(side: &Revealed) -> Value {
    json!({
        "length": side.total,
        "authenticated": side.authenticated.ranges().iter().map(|&(s, e)| json!([s, e])).collect::<Vec<_>>(),
        "sha256": hex(Impl::hash_bytes(&side.data).as_bytes()),
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
