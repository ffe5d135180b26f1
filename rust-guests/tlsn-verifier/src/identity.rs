//! The server identity proof: the opened handshake data must be what the notary committed to, its key-exchange
//! parameters the ones in the attestation, its chain valid for the name at the session's time, and its
//! signature over the parameters made by the chain's leaf.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::time::Duration;

use rustls_pki_types::{CertificateDer, DnsName, ServerName, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::bcs;
use crate::error::{fail, Result};
use crate::hash::{self, HashAlg};
use crate::sigalgs;
use crate::wire::{Body, HandshakeData, IdentityProof};

/// The trust anchors for server certificates: Mozilla's (webpki-roots) unless switched off, plus any given.
/// Mozilla's alone are borrowed, not copied (in the zkVM a copy costs its cycles and the pages it fills).
pub struct Roots(Cow<'static, [TrustAnchor<'static>]>);

impl Roots {
    pub fn new(mozilla: bool, extra_der: &[Vec<u8>]) -> Result<Roots> {
        let mozilla: &'static [TrustAnchor<'static>] = if mozilla {
            webpki_roots::TLS_SERVER_ROOTS
        } else {
            &[]
        };
        if extra_der.is_empty() {
            return Ok(Roots(Cow::Borrowed(mozilla)));
        }
        let mut anchors = mozilla.to_vec();
        for (i, der) in extra_der.iter().enumerate() {
            let cert = CertificateDer::from(der.as_slice());
            match webpki::anchor_from_trusted_cert(&cert) {
                Ok(anchor) => anchors.push(anchor.to_owned()),
                Err(e) => fail!(
                    Request,
                    "extra root {i} is not a usable DER certificate: {e:?}"
                ),
            }
        }
        Ok(Roots(Cow::Owned(anchors)))
    }
}

/// Verifies the identity proof; returns the name of the server's key-exchange signature algorithm. `mark` is
/// called as phases end (see `verify_traced`).
pub fn verify(
    proof: &IdentityProof,
    body: &Body,
    time: u64,
    roots: &Roots,
    allowed: &[HashAlg],
    mark: &mut dyn FnMut(&'static str),
) -> Result<&'static str> {
    let commitment = &body.cert_commitment.data;
    let alg = crate::allowed_hash(commitment.alg, allowed, "the certificate commitment")?;
    let opened = hash::separated_with(alg, "ServerCertOpening", |out| {
        bcs::cert_opening_into(&proof.data, &proof.blinder, out)
    });
    if opened[..] != commitment.value[..] {
        fail!(
            Identity,
            "the certificates and handshake data are not the ones the notary committed to"
        );
    }
    mark("identity hashing");
    let data = &proof.data;
    if data.server_ephemeral_key != body.server_ephemeral_key.data {
        fail!(
            Identity,
            "the handshake's ephemeral key differs from the one in the attestation"
        );
    }
    if data.server_ephemeral_key.key.len() != 65 {
        fail!(
            Identity,
            "the server's ephemeral key has {} bytes, not the 65 of an uncompressed P-256 point",
            data.server_ephemeral_key.key.len()
        );
    }
    let name = dns_name(&proof.name)?;
    let certs: Vec<CertificateDer<'_>> = data
        .certs
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let Some((leaf_der, intermediates)) = certs.split_first() else {
        fail!(Identity, "the identity proof has no certificates");
    };
    let leaf = match EndEntityCert::try_from(leaf_der) {
        Ok(leaf) => leaf,
        Err(e) => fail!(Identity, "the server certificate cannot be parsed: {e:?}"),
    };
    let at = UnixTime::since_unix_epoch(Duration::from_secs(time));
    if let Err(e) = leaf.verify_for_usage(
        sigalgs::CHAIN,
        &roots.0,
        intermediates,
        at,
        KeyUsage::server_auth(),
        None,
        None,
    ) {
        fail!(
            Identity,
            "the certificate chain does not verify at time {time}: {}",
            chain_error(&e)
        );
    }
    if let Err(e) = leaf.verify_is_valid_for_subject_name(&ServerName::DnsName(name)) {
        fail!(
            Identity,
            "the certificate is not valid for {:?}: {}",
            proof.name,
            chain_error(&e)
        );
    }
    mark("certificate chain");
    let alg = sigalgs::KEY_EXCHANGE[data.sig_alg as usize];
    if let Err(e) = leaf.verify_signature(alg, &key_exchange_message(data), &data.sig) {
        fail!(Identity, "the server's {} signature over the key exchange does not verify with its certificate ({e:?})", alg.name);
    }
    mark("server signature");
    Ok(alg.name)
}

/// The server name, which must be a DNS name in canonical (lowercase) form: the notary does not commit to it
/// and certificates match names case-insensitively, so only one spelling is accepted.
fn dns_name(name: &str) -> Result<DnsName<'static>> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        fail!(Identity, "server name {name:?} is not lowercase");
    }
    match DnsName::try_from(name) {
        Ok(dns) => Ok(dns.to_owned()),
        Err(_) => fail!(Identity, "server name {name:?} is not a DNS name"),
    }
}

fn chain_error(e: &webpki::Error) -> alloc::string::String {
    use webpki::Error::*;
    match e {
        UnknownIssuer => {
            "no chain to a trusted root (unknown issuer, or an intermediate is missing)".into()
        }
        CertExpired { .. } => "a certificate had expired".into(),
        CertNotValidYet { .. } => "a certificate was not yet valid".into(),
        CertNotValidForName(_) => "the name is not among the certificate's names".into(),
        InvalidSignatureForPublicKey => "a certificate's signature does not verify".into(),
        other => alloc::format!("{other:?}"),
    }
}

/// What a TLS 1.2 server signs in ServerKeyExchange: both randoms, then the ECDHE parameters (named curve
/// secp256r1 = 0x0017, the point with a one-byte length).
fn key_exchange_message(data: &HandshakeData) -> Vec<u8> {
    let key = &data.server_ephemeral_key.key;
    let mut msg = Vec::with_capacity(64 + 4 + key.len());
    msg.extend_from_slice(&data.client_random);
    msg.extend_from_slice(&data.server_random);
    msg.extend_from_slice(&[0x03, 0x00, 0x17, key.len() as u8]);
    msg.extend_from_slice(key);
    msg
}
