//! The verified facts as JSON: the one output format of both backends, declared here as types (and read by
//! `pipeline/tlsn/_verify.py` as pydantic models of the same shape; `tests/golden/presentation.json` is the golden
//! document both sides check). Fields are declared in key order, so the bytes are those of a sorted JSON object.

use alloc::string::String;
use alloc::vec::Vec;

use serde::Serialize;

use crate::http::{self, HttpMessage};
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

/// What a presentation proves, as the verifier reports it.
#[derive(Serialize)]
pub struct Report<'a> {
    pub attestation: Attestation,
    pub extensions: Vec<Extension>,
    pub http: Option<Http>,
    pub notary: Notary,
    pub server: Option<Server<'a>>,
    pub time: u64,
    pub tls_version: &'static str,
    pub transcript: Option<Transcript<'a>>,
}

#[derive(Serialize)]
pub struct Attestation {
    pub hash: &'static str,
    pub id: String,
    pub root: String,
}

#[derive(Serialize)]
pub struct Extension {
    pub id: String,
    pub value: String,
}

/// Both directions read as HTTP/1.1 messages.
#[derive(Serialize)]
pub struct Http {
    pub request: Option<Message>,
    pub response: Option<Message>,
}

/// A fully revealed direction as an HTTP message, or why its bytes are not one.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Message {
    Parsed(HttpMessage),
    Unreadable { error: String },
}

#[derive(Serialize)]
pub struct Notary {
    pub algorithm: &'static str,
    pub key: String,
}

#[derive(Serialize)]
pub struct Server<'a> {
    pub name: &'a str,
    /// The server's key-exchange signature algorithm.
    pub signature: &'static str,
}

#[derive(Serialize)]
pub struct Transcript<'a> {
    pub received: Direction<'a>,
    pub sent: Direction<'a>,
}

/// One direction: its length, what is authenticated and what is redacted, and the revealed bytes range by range
/// (as text when they are UTF-8, else hex). `text` is the whole transcript, only when nothing is redacted.
#[derive(Serialize)]
pub struct Direction<'a> {
    pub authenticated: &'a [(u64, u64)],
    pub length: u64,
    pub redacted: Vec<(u64, u64)>,
    pub revealed: Vec<Chunk<'a>>,
    pub text: Option<&'a str>,
}

/// Revealed bytes `start..end`: as text when they are UTF-8, else as hex.
#[derive(Serialize)]
pub struct Chunk<'a> {
    pub end: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    pub start: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
}

/// The facts of `verified`, as the report both backends give.
pub fn report(v: &Verified) -> Report<'_> {
    Report {
        attestation: Attestation {
            hash: v.hash_alg.name(),
            id: hex(&v.attestation_id),
            root: hex(&v.root),
        },
        extensions: v
            .extensions
            .iter()
            .map(|e| Extension {
                id: hex(&e.id),
                value: hex(&e.value),
            })
            .collect(),
        http: v.transcript.as_ref().map(|(sent, received)| Http {
            request: message(sent, false),
            response: message(received, true),
        }),
        notary: Notary {
            algorithm: crate::notary::signature_alg_name(v.notary_alg),
            key: hex(&v.notary_key),
        },
        server: v
            .server
            .as_ref()
            .map(|(name, signature)| Server { name, signature }),
        time: v.time,
        tls_version: match v.tls_version {
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        },
        transcript: v.transcript.as_ref().map(|(sent, received)| Transcript {
            received: direction(received),
            sent: direction(sent),
        }),
    }
}

fn direction(r: &Revealed) -> Direction<'_> {
    let redacted = r.authenticated.complement(r.total);
    let mut at = 0usize;
    let revealed = r
        .authenticated
        .ranges()
        .iter()
        .map(|&(start, end)| {
            let bytes = &r.data[at..at + (end - start) as usize];
            at += bytes.len();
            match core::str::from_utf8(bytes) {
                Ok(text) => Chunk {
                    end,
                    hex: None,
                    start,
                    text: Some(text),
                },
                Err(_) => Chunk {
                    end,
                    hex: Some(hex(bytes)),
                    start,
                    text: None,
                },
            }
        })
        .collect();
    Direction {
        authenticated: r.authenticated.ranges(),
        length: r.total,
        revealed,
        text: if redacted.is_empty() {
            core::str::from_utf8(&r.data).ok()
        } else {
            None
        },
        redacted: redacted.ranges().to_vec(),
    }
}

/// The direction read as an HTTP message when all of it is revealed.
fn message(r: &Revealed, response: bool) -> Option<Message> {
    if r.total == 0 || !r.authenticated.complement(r.total).is_empty() {
        return None;
    }
    Some(match http::parse(&r.data, response) {
        Ok(parsed) => Message::Parsed(parsed),
        Err(error) => Message::Unreadable { error },
    })
}
