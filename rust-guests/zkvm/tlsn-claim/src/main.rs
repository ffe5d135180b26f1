//! zkTLS: verifies a TLSNotary presentation inside the zkVM, then commits what it establishes and the truth of
//! a claim about the server's response, but not the transcript itself (unless `"reveal": true`).
//!
//! In: `{"presentation": "<base64>", "policy": {...as for tlsn-verify...}, "claim": {"path", "op", "value"},
//! "bytes": {"direction": "received", "start": 0, "text": "HTTP/1.1 200"}, "reveal": false}`, with at least
//! one of `claim` (over the JSON body of the fully revealed response) and `bytes` (the transcript bytes at
//! `start` equal `text`, or `hex`) and `pick` (dot paths into the JSON body of the fully revealed response, whose
//! values the journal then states). Or, cheaper (what `pipeline.zktls` sends): the bytes `\0TLS`, the
//! presentation's length (u32, little-endian), the raw presentation, then that JSON without "presentation":
//! decoding base64 out of JSON costs the guest ~8% of its cycles.
//! Out: the notary key, server name, session time, a SHA-256 of each direction's revealed bytes, each claim
//! with its verdict, `holds` (all of them hold) and, when asked for, the `picked` values (each path, whether it was
//! found, and the value there: so a receipt can state a notarized value, not only a verdict about it). A false claim still gives a receipt: it says `holds: false`.
//! A presentation that does not verify against the policy (tampered, untrusted notary, wrong server, too old)
//! gives no receipt at all: the guest stops with the verifier's reason, so no receipt ever names a notary or
//! a server that was not checked.
use std::io::Read;

use claims::{evaluate, lookup, Claim};
use risc0_zkvm::guest::env;
use risc0_zkvm::sha::{Impl, Sha256};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tlsn_verifier::ranges::RangeSet;
use tlsn_verifier::transcript::Revealed;
use tlsn_verifier::wire::TlsVersion;
use tlsn_verifier::{hex, report, PolicyFields};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    /// Base64; absent when the presentation comes framed ahead of the JSON.
    #[serde(default)]
    presentation: Option<String>,
    policy: PolicyFields,
    #[serde(default)]
    claim: Option<Claim>,
    #[serde(default)]
    bytes: Option<BytesClaim>,
    /// Dot paths into the response's JSON body whose values go into the journal, in this order.
    #[serde(default)]
    pick: Vec<String>,
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

/// The transcript bytes from `start` in one direction equal `text` (UTF-8) or `hex`. Fields in key order, as
/// the journal always had them (a JSON object's keys sorted).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct BytesClaim {
    #[serde(default = "received")]
    direction: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hex: Option<String>,
    start: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

fn received() -> String {
    "received".into()
}

fn stop(msg: impl core::fmt::Display) -> ! {
    panic!("tlsn-claim: {msg}")
}

/// Marks the framed input: these bytes, the presentation's length, the presentation, the rest as JSON.
const FRAME: [u8; 4] = *b"\0TLS";
/// A presentation is kilobytes; a framed length beyond this is refused before anything is allocated for it.
const MAX_PRESENTATION: usize = 16 << 20;
/// Values a journal may state: each costs cycles to prove and bytes in every receipt.
const MAX_PICKS: usize = 64;

/// The input in either form (see the top of this file): the framed presentation, if it came framed, and the rest.
fn read_input() -> (Option<Vec<u8>>, Input) {
    let mut stdin = env::stdin();
    let mut head = [0u8; 8];
    let mut got = 0;
    while got < head.len() {
        match stdin.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => stop(format_args!("stdin: {e}")),
        }
    }
    let parse = |json: &[u8]| -> Input {
        serde_json::from_slice(json).unwrap_or_else(|e| stop(format_args!("bad input: {e}")))
    };
    if got == head.len() && head[..4] == FRAME {
        let len = u32::from_le_bytes(head[4..].try_into().expect("4 bytes")) as usize;
        if len > MAX_PRESENTATION {
            stop(format_args!(
                "bad input: a framed presentation of {len} bytes exceeds {MAX_PRESENTATION}"
            ));
        }
        let mut presentation = vec![0u8; len];
        stdin.read_exact(&mut presentation).unwrap_or_else(|e| {
            stop(format_args!(
                "bad input: the framed presentation is cut short: {e}"
            ))
        });
        let mut rest = Vec::new();
        stdin.read_to_end(&mut rest).expect("stdin");
        let input = parse(&rest);
        if input.presentation.is_some() {
            stop("bad input: the presentation is given twice (framed and as \"presentation\")");
        }
        return (Some(presentation), input);
    }
    let mut raw = head[..got].to_vec();
    stdin.read_to_end(&mut raw).expect("stdin");
    (None, parse(&raw))
}

fn main() {
    let (framed, mut input) = read_input();
    if input.claim.is_none() && input.bytes.is_none() && input.pick.is_empty() {
        stop("nothing to prove: give a \"claim\" over the response JSON, a \"bytes\" claim and/or paths to \"pick\"");
    }
    if input.pick.len() > MAX_PICKS {
        stop(format_args!(
            "bad input: {} paths to pick; at most {MAX_PICKS}",
            input.pick.len()
        ));
    }
    let presentation = match (framed, input.presentation.take()) {
        (Some(raw), _) => raw,
        (None, Some(base64)) => {
            tlsn_verifier::request::presentation(&base64).unwrap_or_else(|e| stop(e))
        }
        (None, None) => stop("bad input: missing field `presentation`"),
    };
    let policy = input.policy.decode().unwrap_or_else(|e| stop(e));
    tlsn_verifier::accel::set_enabled(input.accelerate);
    let mut cycles = Cycles::start();
    cycles.mark("input");
    let verified =
        tlsn_verifier::verify_traced(&presentation, &policy, &mut |phase| cycles.mark(phase))
            .unwrap_or_else(|e| stop(e));
    let Some((sent, received)) = &verified.transcript else {
        stop("the presentation reveals no transcript, so there is nothing to make a claim about")
    };

    // The body is parsed once, and only when a claim or a pick reads it.
    let body = (input.claim.is_some() || !input.pick.is_empty())
        .then(|| response_json(received).unwrap_or_else(|why| stop(why)));
    let json_verdict = input.claim.as_ref().map(|claim| {
        let body = body.as_ref().expect("parsed for the claim");
        serde_json::to_value(evaluate(body, claim)).expect("verdicts serialize")
    });
    let picked = (!input.pick.is_empty()).then(|| {
        let body = body.as_ref().expect("parsed for the picks");
        input
            .pick
            .iter()
            .map(|path| {
                let value = lookup(body, path);
                Picked {
                    found: value.is_some(),
                    path,
                    value: value.cloned().unwrap_or(Value::Null),
                }
            })
            .collect::<Vec<_>>()
    });
    let bytes_verdict = input.bytes.as_ref().map(|claim| {
        let side = match claim.direction.as_str() {
            "sent" => sent,
            "received" => received,
            other => stop(format_args!(
                "bytes.direction must be \"sent\" or \"received\", not {other:?}"
            )),
        };
        let want = match (&claim.text, &claim.hex) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(h)) => {
                unhex(h).unwrap_or_else(|| stop(format_args!("bytes.hex is not hex: {h:?}")))
            }
            _ => stop("bytes needs exactly one of \"text\" and \"hex\""),
        };
        let found = claim.start.checked_add(want.len() as u64).and_then(|end| {
            let wanted = RangeSet::from_normalized(vec![(claim.start, end)]).ok()?;
            side.authenticated.gather(&side.data, &wanted)
        });
        BytesVerdict {
            claim,
            holds: found.as_deref() == Some(&want[..]),
            revealed: found.is_some(),
        }
    });
    let holds = json_verdict.as_ref().is_none_or(|v| v["holds"] == true)
        && bytes_verdict.as_ref().is_none_or(|v| v.holds);

    let mut journal = Journal {
        bytes: bytes_verdict,
        claim: json_verdict,
        cycles: None,
        holds,
        notary: Notary {
            algorithm: tlsn_verifier::notary::signature_alg_name(verified.notary_alg),
            key: hex(&verified.notary_key),
        },
        picked,
        // The full report (it parses both HTTP messages) only when the transcript goes into the journal.
        revealed: input.reveal.then(|| {
            serde_json::to_value(report(&verified).transcript).expect("reports serialize")
        }),
        server: verified.server.as_ref().map(|(name, _)| name.as_str()),
        time: verified.time,
        tls_version: match verified.tls_version {
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        },
        transcript: Transcript {
            received: digest(received),
            sent: digest(sent),
        },
    };
    if input.profile {
        cycles.mark("claims and journal");
        journal.cycles = Some(cycles.phases);
    }
    env::commit_slice(&serde_json::to_vec(&journal).expect("journal encodes"));
}

/// The journal, written straight from these structs rather than built as a JSON tree and copied: fields in
/// key order, so the bytes are those of the sorted JSON object they always were.
#[derive(Serialize)]
struct Journal<'a> {
    bytes: Option<BytesVerdict<'a>>,
    claim: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cycles: Option<Vec<(&'static str, u64)>>,
    holds: bool,
    notary: Notary,
    #[serde(skip_serializing_if = "Option::is_none")]
    picked: Option<Vec<Picked<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revealed: Option<Value>,
    server: Option<&'a str>,
    time: u64,
    tls_version: &'static str,
    transcript: Transcript<'a>,
}

#[derive(Serialize)]
struct BytesVerdict<'a> {
    claim: &'a BytesClaim,
    holds: bool,
    revealed: bool,
}

/// A value read from the response's JSON body at `path` (`null` when not `found`). Fields in key order.
#[derive(Serialize)]
struct Picked<'a> {
    found: bool,
    path: &'a str,
    value: Value,
}

#[derive(Serialize)]
struct Notary {
    algorithm: &'static str,
    key: String,
}

#[derive(Serialize)]
struct Transcript<'a> {
    received: Digest<'a>,
    sent: Digest<'a>,
}

/// What a holder of the transcript can recompute: the revealed ranges and the SHA-256 of their bytes in order.
#[derive(Serialize)]
struct Digest<'a> {
    authenticated: &'a [(u64, u64)],
    length: u64,
    sha256: String,
}

fn digest(side: &Revealed) -> Digest<'_> {
    Digest {
        authenticated: side.authenticated.ranges(),
        length: side.total,
        sha256: hex(Impl::hash_bytes(&side.data).as_bytes()),
    }
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
    match response.json {
        Value::Null => Err("the response body is not JSON".into()),
        body => Ok(body),
    }
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
