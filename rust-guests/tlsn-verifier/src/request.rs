//! The JSON request both Loom backends accept: `{"presentation": "<base64>", "policy": {...}}`, answered with
//! the verified facts as JSON (see `report`).

use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{fail, Result};
use crate::{HashAlg, Policy};

/// A verification request. Programs with requests of their own embed its two fields (the `tlsn-claim` guest
/// does) and call [`Request::decode`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The presentation, base64.
    pub presentation: String,
    pub policy: PolicyFields,
}

impl Request {
    /// The presentation's bytes and the policy, checked.
    pub fn decode(self) -> Result<(Vec<u8>, Policy)> {
        Ok((
            base64(&self.presentation, "presentation")?,
            policy(self.policy)?,
        ))
    }
}

fn yes() -> bool {
    true
}

fn all_hashes() -> Vec<String> {
    HashAlg::ALL.iter().map(|a| a.name().into()).collect()
}

/// [`Policy`] as JSON: keys hex, roots base64 DER, hashes by name; identity, transcript and Mozilla's roots
/// default to required/trusted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFields {
    notary_keys: Vec<String>,
    #[serde(default)]
    server_name: Option<String>,
    #[serde(default)]
    now: Option<u64>,
    #[serde(default)]
    max_age: Option<u64>,
    #[serde(default = "yes")]
    require_identity: bool,
    #[serde(default = "yes")]
    require_transcript: bool,
    #[serde(default = "all_hashes")]
    hash_algs: Vec<String>,
    #[serde(default = "yes")]
    mozilla_roots: bool,
    #[serde(default)]
    roots: Vec<String>,
}

/// A base64 presentation's bytes.
pub fn presentation(base64_text: &str) -> Result<Vec<u8>> {
    base64(base64_text, "presentation")
}

impl PolicyFields {
    /// The policy, checked (for programs that take the presentation in some other form than base64).
    pub fn decode(self) -> Result<Policy> {
        policy(self)
    }
}

/// Verifies the presentation in a JSON request; returns the facts as JSON text.
pub fn verify_request(json: &[u8]) -> Result<String> {
    let request: Request = match serde_json::from_slice(json) {
        Ok(r) => r,
        Err(e) => fail!(Request, "{e}"),
    };
    let (presentation, policy) = request.decode()?;
    let verified = crate::verify(&presentation, &policy)?;
    Ok(serde_json::to_string(&crate::report(&verified)).expect("reports serialize"))
}

fn policy(f: PolicyFields) -> Result<Policy> {
    let mut hash_algs = Vec::new();
    for name in &f.hash_algs {
        match HashAlg::from_name(name) {
            Some(alg) => hash_algs.push(alg),
            None => fail!(
                Request,
                "unknown hash algorithm {name:?} (sha256, blake3 or keccak256)"
            ),
        }
    }
    Ok(Policy {
        notary_keys: f
            .notary_keys
            .iter()
            .map(|k| unhex(k, "notary key"))
            .collect::<Result<_>>()?,
        server_name: f.server_name,
        now: f.now,
        max_age: f.max_age,
        require_identity: f.require_identity,
        require_transcript: f.require_transcript,
        hash_algs,
        mozilla_roots: f.mozilla_roots,
        extra_roots: f
            .roots
            .iter()
            .map(|r| base64(r, "root"))
            .collect::<Result<_>>()?,
    })
}

fn base64(text: &str, what: &str) -> Result<Vec<u8>> {
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(bytes) => Ok(bytes),
        Err(e) => fail!(Request, "{what} is not base64: {e}"),
    }
}

fn unhex(text: &str, what: &str) -> Result<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        fail!(Request, "{what} {text:?} is not hex (odd length)");
    }
    bytes
        .chunks(2)
        .map(|p| match (digit(p[0]), digit(p[1])) {
            (Some(h), Some(l)) => Ok(h << 4 | l),
            _ => Err(crate::Error::new(
                crate::Stage::Request,
                alloc::format!("{what} {text:?} is not hex"),
            )),
        })
        .collect()
}
