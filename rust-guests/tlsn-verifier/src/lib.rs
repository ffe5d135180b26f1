//! Verifies TLSNotary presentations (tlsn v0.1.0-alpha.14 and later), byte-compatible with TLSNotary's own
//! `Presentation::verify`, plus the checks TLSNotary leaves to its caller (trusted notary keys, freshness,
//! required proofs, expected server name, allowed hashes), on published crates only.
//!
//! `no_std` + `alloc`: the same code runs natively (`pipeline._native`), as a wasm32 activity and in the zkVM.
//! The JSON entry point [`verify_request`] is what both Loom backends call, so they give identical output.
#![no_std]

extern crate alloc;

#[cfg(target_os = "zkvm")]
pub mod accel;
pub mod bcs;
pub mod error;
pub mod hash;
pub mod http;
pub mod identity;
pub mod notary;
pub mod ranges;
pub mod rsa;
pub mod sigalgs;
pub mod transcript;
pub mod wire;

pub mod report;
pub mod request;

use alloc::string::String;
use alloc::vec::Vec;

use error::fail;
pub use error::{Error, Result, Stage};
pub use hash::HashAlg;
pub use report::{hex, report, Report};
pub use request::{verify_request, PolicyFields, Request};
use transcript::Revealed;

/// What the caller trusts and requires; TLSNotary itself checks none of this.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Notary public keys (SEC1, compressed or not) whose attestations are accepted. Never empty.
    pub notary_keys: Vec<Vec<u8>>,
    /// The server the session must have been with.
    pub server_name: Option<String>,
    /// Unix time to judge freshness against; the session may not be later than this.
    pub now: Option<u64>,
    /// Oldest acceptable session, in seconds before `now`.
    pub max_age: Option<u64>,
    pub require_identity: bool,
    pub require_transcript: bool,
    /// Hash algorithms accepted anywhere in the presentation.
    pub hash_algs: Vec<HashAlg>,
    /// Trust Mozilla's root store (webpki-roots) for server certificates.
    pub mozilla_roots: bool,
    /// Further trusted roots, DER.
    pub extra_roots: Vec<Vec<u8>>,
}

impl Policy {
    /// The strict default for a notary key: identity and transcript required, every hash, Mozilla's roots.
    pub fn trusting(notary_key: Vec<u8>) -> Policy {
        Policy {
            notary_keys: alloc::vec![notary_key],
            server_name: None,
            now: None,
            max_age: None,
            require_identity: true,
            require_transcript: true,
            hash_algs: HashAlg::ALL.to_vec(),
            mozilla_roots: true,
            extra_roots: Vec::new(),
        }
    }
}

/// The facts a valid presentation establishes.
#[derive(Debug, Clone)]
pub struct Verified {
    pub notary_alg: u8,
    pub notary_key: Vec<u8>,
    pub attestation_id: [u8; 16],
    pub hash_alg: HashAlg,
    pub root: Vec<u8>,
    pub time: u64,
    pub tls_version: wire::TlsVersion,
    /// The server name and its key-exchange signature algorithm, when the identity proof was given.
    pub server: Option<(String, &'static str)>,
    pub transcript: Option<(Revealed, Revealed)>,
    pub extensions: Vec<wire::Extension>,
}

/// Decodes and verifies a presentation against `policy`.
pub fn verify(bytes: &[u8], policy: &Policy) -> Result<Verified> {
    verify_traced(bytes, policy, &mut |_| {})
}

/// [`verify`], calling `mark(phase)` as each phase ends so that a caller can attribute cost to phases (the
/// zkVM guest counts cycles with it): roots, decode, attestation hashing, notary signature, identity hashing,
/// certificate chain, server signature, transcript hashing.
pub fn verify_traced(
    bytes: &[u8],
    policy: &Policy,
    mark: &mut dyn FnMut(&'static str),
) -> Result<Verified> {
    if policy.notary_keys.is_empty() {
        fail!(
            Policy,
            "no trusted notary keys given: Loom trusts no notary by default"
        );
    }
    let roots = identity::Roots::new(policy.mozilla_roots, &policy.extra_roots)?;
    mark("roots");
    let p = wire::decode(bytes)?;
    mark("decode");
    let body = &p.body;

    // The body must hash to the signed root, and the notary must have signed it.
    if p.header.version != 0 {
        fail!(
            Unsupported,
            "attestation version {} (Loom knows version 0)",
            p.header.version
        );
    }
    let alg = allowed_hash(p.header.root.alg, &policy.hash_algs, "the attestation")?;
    if p.proof.alg != p.header.root.alg {
        fail!(
            Attestation,
            "the body proof uses hash {}, the header's root hash {}",
            p.proof.alg,
            p.header.root.alg
        );
    }
    let leaves = body_leaves(body, alg)?;
    if p.proof.leaf_count != leaves.len() as u64 {
        fail!(
            Attestation,
            "the body proof counts {} fields, the body has {}",
            p.proof.leaf_count,
            leaves.len()
        );
    }
    if !p.proof.hashes.is_empty() {
        fail!(
            Attestation,
            "the body proof carries {} hashes, but every field is present so it needs none",
            p.proof.hashes.len()
        );
    }
    if hash::merkle_root(alg, &leaves).map(|r| r.to_vec()) != Some(p.header.root.value.clone()) {
        fail!(
            Attestation,
            "the body does not hash to the header's Merkle root"
        );
    }
    mark("attestation hashing");
    notary::verify(
        &body.verifying_key.data,
        &p.signature,
        &bcs::header(&p.header),
    )?;
    mark("notary signature");

    // What TLSNotary leaves to the caller.
    let key_alg = notary::KeyAlg::from_id(body.verifying_key.data.alg)?;
    if !policy
        .notary_keys
        .iter()
        .any(|k| notary::same_key(key_alg, &body.verifying_key.data.data, k))
    {
        fail!(
            Policy,
            "the attestation is signed by notary key {}, which is not trusted",
            report::hex(&body.verifying_key.data.data)
        );
    }
    let info = &body.connection_info.data;
    if let Some(now) = policy.now {
        if info.time > now {
            fail!(
                Policy,
                "the session time {} is later than now ({now})",
                info.time
            );
        }
        if let Some(max_age) = policy.max_age {
            if now - info.time > max_age {
                fail!(
                    Policy,
                    "the session is {} s old, more than the {max_age} s allowed",
                    now - info.time
                );
            }
        }
    } else if policy.max_age.is_some() {
        fail!(Request, "max_age needs now");
    }
    let server = match (&p.identity, policy.require_identity) {
        (None, true) => fail!(
            Policy,
            "the presentation has no server identity proof, which the policy requires"
        ),
        (None, false) => None,
        (Some(proof), _) => {
            let sig = identity::verify(proof, body, info.time, &roots, &policy.hash_algs, mark)?;
            Some((proof.name.clone(), sig))
        }
    };
    match (&policy.server_name, &server) {
        (Some(expected), Some((name, _))) if !expected.eq_ignore_ascii_case(name) => {
            fail!(Policy, "the session was with {name:?}, not {expected:?}")
        }
        (Some(expected), None) => {
            fail!(Policy, "the policy expects server {expected:?} but the presentation proves no server identity")
        }
        _ => {}
    }
    let transcript = match (&p.transcript, policy.require_transcript) {
        (None, true) => fail!(
            Policy,
            "the presentation has no transcript proof, which the policy requires"
        ),
        (None, false) => None,
        (Some(proof), _) => Some(transcript::verify(proof, body, &policy.hash_algs)?),
    };
    mark("transcript hashing");
    Ok(Verified {
        notary_alg: p.signature.alg,
        notary_key: body.verifying_key.data.data.clone(),
        attestation_id: p.header.id,
        hash_alg: alg,
        root: p.header.root.value.clone(),
        time: info.time,
        tls_version: info.version,
        server,
        transcript,
        extensions: body.extensions.iter().map(|f| f.data.clone()).collect(),
    })
}

/// The Merkle leaves of the body's fields, ordered by field id, which must be exactly 0..n.
fn body_leaves(body: &wire::Body, alg: HashAlg) -> Result<Vec<[u8; 32]>> {
    let mut leaves: Vec<(u32, [u8; 32])> = alloc::vec![
        (
            body.verifying_key.id,
            hash::separated(
                alg,
                "VerifyingKey",
                &bcs::verifying_key(&body.verifying_key.data)
            )
        ),
        (
            body.connection_info.id,
            hash::separated(
                alg,
                "tlsn_core::connection::ConnectionInfo",
                &bcs::connection_info(&body.connection_info.data)
            )
        ),
        (
            body.server_ephemeral_key.id,
            hash::separated(
                alg,
                "tlsn_core::connection::ServerEphemKey",
                &bcs::ephemeral_key(&body.server_ephemeral_key.data)
            )
        ),
        (
            body.cert_commitment.id,
            hash::separated(
                alg,
                "ServerCertCommitment",
                &bcs::typed_hash(&body.cert_commitment.data)
            )
        ),
    ];
    leaves.extend(body.extensions.iter().map(|f| {
        (
            f.id,
            hash::separated(alg, "Extension", &bcs::extension(&f.data)),
        )
    }));
    leaves.extend(body.transcript_commitments.iter().map(|f| {
        (
            f.id,
            hash::separated(
                alg,
                "tlsn_core::transcript::TranscriptCommitment",
                &bcs::transcript_commitment(&f.data),
            ),
        )
    }));
    leaves.sort_by_key(|(id, _)| *id);
    for (i, (id, _)) in leaves.iter().enumerate() {
        if *id as usize != i {
            fail!(
                Attestation,
                "body field ids must be 0..{} without gaps or repeats; found {id} at position {i}",
                leaves.len()
            );
        }
    }
    Ok(leaves.into_iter().map(|(_, leaf)| leaf).collect())
}

/// The hash with TLSNotary id `id`, if the policy allows it.
pub(crate) fn allowed_hash(id: u8, allowed: &[HashAlg], what: &str) -> Result<HashAlg> {
    let alg = HashAlg::from_id(id)?;
    if !allowed.contains(&alg) {
        fail!(
            Policy,
            "{what} uses {}, which the policy does not allow",
            alg.name()
        );
    }
    Ok(alg)
}
