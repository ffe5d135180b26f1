//! The verified facts as JSON: the one output format of both backends.

use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{json, Value};

use crate::http;
use crate::transcript::Revealed;
use crate::wire::TlsVersion;
use crate::Verified;

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                DIGITS[(b >> 4) as usize] as char,
                DIGITS[(b & 15) as usize] as char,
            ]
        })
        .collect()
}

/// `verified` as a JSON document (keys sorted, so equal facts give equal bytes).
pub fn to_json(v: &Verified) -> Value {
    let transcript = v
        .transcript
        .as_ref()
        .map(|(sent, received)| json!({"sent": direction(sent), "received": direction(received)}));
    let http = v.transcript.as_ref().map(|(sent, received)| {
        json!({"request": message(sent, false), "response": message(received, true)})
    });
    json!({
        "notary": {"algorithm": crate::notary::signature_alg_name(v.notary_alg), "key": hex(&v.notary_key)},
        "attestation": {"id": hex(&v.attestation_id), "hash": v.hash_alg.name(), "root": hex(&v.root)},
        "server": v.server.as_ref().map(|(name, sig)| json!({"name": name, "signature": sig})),
        "time": v.time,
        "tls_version": match v.tls_version { TlsVersion::V1_2 => "1.2", TlsVersion::V1_3 => "1.3" },
        "transcript": transcript,
        "http": http,
        "extensions": v.extensions.iter().map(|e| json!({"id": hex(&e.id), "value": hex(&e.value)})).collect::<Vec<_>>(),
    })
}

fn pairs(ranges: &[(u64, u64)]) -> Value {
    ranges.iter().map(|&(s, e)| json!([s, e])).collect()
}

/// One direction: its length, what is authenticated and what is redacted, and the revealed bytes range by
/// range (as text when they are UTF-8, else hex). `text` is the whole transcript, only when nothing is redacted.
fn direction(r: &Revealed) -> Value {
    let redacted = r.authenticated.complement(r.total);
    let mut at = 0usize;
    let chunks: Vec<Value> = r
        .authenticated
        .ranges()
        .iter()
        .map(|&(s, e)| {
            let bytes = &r.data[at..at + (e - s) as usize];
            at += bytes.len();
            match core::str::from_utf8(bytes) {
                Ok(text) => json!({"start": s, "end": e, "text": text}),
                Err(_) => json!({"start": s, "end": e, "hex": hex(bytes)}),
            }
        })
        .collect();
    let text = if redacted.is_empty() {
        core::str::from_utf8(&r.data).ok()
    } else {
        None
    };
    json!({
        "length": r.total,
        "authenticated": pairs(r.authenticated.ranges()),
        "redacted": pairs(redacted.ranges()),
        "revealed": chunks,
        "text": text,
    })
}

/// The direction read as an HTTP message when all of it is revealed; `{"error": ...}` when it is not one.
fn message(r: &Revealed, response: bool) -> Value {
    if r.total == 0 || !r.authenticated.complement(r.total).is_empty() {
        return Value::Null;
    }
    http::parse(&r.data, response).unwrap_or_else(|e| json!({"error": e}))
}
