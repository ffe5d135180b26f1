//! The notary's signature over the attestation header, and comparing notary keys.

use alloc::vec::Vec;

use k256::ecdsa::signature::hazmat::PrehashVerifier;
use sha3::Digest;

use crate::error::{fail, Result};
use crate::wire::{Signature, VerifyingKey};

/// Notary key algorithms by TLSNotary id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    K256,
    P256,
}

impl KeyAlg {
    pub fn from_id(id: u8) -> Result<KeyAlg> {
        match id {
            1 => Ok(KeyAlg::K256),
            2 => Ok(KeyAlg::P256),
            _ => fail!(
                Unsupported,
                "notary key algorithm {id} (Loom knows 1 = K256 and 2 = P256)"
            ),
        }
    }
}

/// The name of a signature algorithm id as TLSNotary spells it.
pub fn signature_alg_name(id: u8) -> &'static str {
    match id {
        1 => "secp256k1",
        2 => "secp256r1",
        3 => "secp256k1eth",
        _ => "unknown",
    }
}

/// `key` in compressed SEC1 form, which is how keys are compared (a key may be written either way).
pub fn normalize_key(alg: KeyAlg, key: &[u8]) -> Option<Vec<u8>> {
    match alg {
        KeyAlg::K256 => k256::PublicKey::from_sec1_bytes(key).ok().map(|k| {
            use k256::elliptic_curve::sec1::ToEncodedPoint;
            k.to_encoded_point(true).as_bytes().to_vec()
        }),
        KeyAlg::P256 => p256::PublicKey::from_sec1_bytes(key).ok().map(|k| {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            k.to_encoded_point(true).as_bytes().to_vec()
        }),
    }
}

/// Whether the SEC1 key `trusted` is the point `key` is, for a `key` that [`verify`] accepted (so a valid
/// point): `normalize_key` of both compared, but without decompressing a point (~250k zkVM cycles each) when
/// the encodings settle it: a valid point has one compressed and one uncompressed encoding.
pub fn same_key(alg: KeyAlg, key: &[u8], trusted: &[u8]) -> bool {
    match (key, trusted) {
        _ if key == trusted => true,
        // Same form, other bytes: another point, or no point at all.
        ([2 | 3, ..], [2 | 3, ..]) if key.len() == 33 && trusted.len() == 33 => false,
        ([4, ..], [4, ..]) if key.len() == 65 && trusted.len() == 65 => false,
        // `key`'s compressed form is its x after the tag of its y's parity.
        ([4, ..], [tag @ (2 | 3), x @ ..]) if key.len() == 65 && trusted.len() == 33 => {
            *tag == 2 + (key[64] & 1) && x == &key[1..33]
        }
        _ => normalize_key(alg, key) == normalize_key(alg, trusted),
    }
}

/// Checks `sig` over `msg` with the body's verifying key; the key's curve must match the signature's.
pub fn verify(key: &VerifyingKey, sig: &Signature, msg: &[u8]) -> Result<()> {
    let key_alg = KeyAlg::from_id(key.alg)?;
    match (sig.alg, key_alg) {
        (1, KeyAlg::K256) => {
            if !k256_verify(&key.data, &sig.data, msg)? {
                fail!(Signature, "the notary's secp256k1 signature over the header does not verify");
            }
        }
        (3, KeyAlg::K256) => {
            let vk = k256_key(&key.data)?;
            let s = k256_sig(&sig.data, 65)?;
            let prehash = sha3::Keccak256::digest(msg);
            if vk.verify_prehash(&prehash, &s).is_err() {
                fail!(Signature, "the notary's secp256k1eth signature over the header does not verify");
            }
            // v must name the key that signed, so that the signature has one accepted encoding.
            let v = sig.data[64];
            let recovered = k256::ecdsa::RecoveryId::from_byte(if v >= 27 { v.wrapping_sub(27) } else { v })
                .and_then(|id| k256::ecdsa::VerifyingKey::recover_from_prehash(&prehash, &s, id).ok());
            if recovered != Some(vk) {
                fail!(Signature, "the recovery byte v = {v} of the secp256k1eth signature does not name the notary key");
            }
        }
        (2, KeyAlg::P256) => {
            let Ok(vk) = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key.data) else {
                fail!(Signature, "the notary key is not a P-256 point");
            };
            if sig.data.len() != 64 {
                fail!(Signature, "a secp256r1 signature has 64 bytes, this one {}", sig.data.len());
            }
            let Ok(s) = p256::ecdsa::Signature::from_slice(&sig.data) else {
                fail!(Signature, "the secp256r1 signature is not a valid (r, s) pair");
            };
            if !crate::sigalgs::p256::verify_prehash(&vk, &sha2::Sha256::digest(msg), &s) {
                fail!(Signature, "the notary's secp256r1 signature over the header does not verify");
            }
        }
        (1..=3, _) => fail!(Signature, "a {} signature cannot come from a {:?} key", signature_alg_name(sig.alg), key_alg),
        (other, _) => fail!(Unsupported, "notary signature algorithm {other} (Loom knows 1 secp256k1, 2 secp256r1, 3 secp256k1eth)"),
    }
    Ok(())
}

/// secp256k1 ECDSA over SHA-256 of `msg` by the SEC1 `key`; like k256, only low-S signatures verify. In the
/// zkVM the accelerator does the curve arithmetic, and decompresses a compressed key (k256's portable square
/// root is the most expensive step of the whole verification there).
fn k256_verify(key: &[u8], sig: &[u8], msg: &[u8]) -> Result<bool> {
    #[cfg(target_os = "zkvm")]
    if crate::accel::enabled() {
        let point = match key {
            [tag @ (2 | 3), x @ ..] if x.len() == 32 => {
                let x: &[u8; 32] = x.try_into().expect("32 bytes");
                match crate::accel::secp256k1_decompress(*tag, x) {
                    Some(point) => point,
                    None => fail!(Signature, "the notary key is not a secp256k1 point"),
                }
            }
            _ => {
                let point = k256_key(key)?.to_encoded_point(false);
                let (x, y) = (
                    point.x().expect("uncompressed"),
                    point.y().expect("uncompressed"),
                );
                (crate::accel::from_be(x), crate::accel::from_be(y))
            }
        };
        let s = k256_sig(sig, 64)?;
        return Ok(s.normalize_s().is_none()
            && crate::accel::ecdsa_verify_point::<crate::accel::Secp256k1>(
                &crate::accel::SECP256K1,
                point,
                &sha2::Sha256::digest(msg),
                &s.r().to_bytes(),
                &s.s().to_bytes(),
            ));
    }
    let vk = k256_key(key)?;
    let s = k256_sig(sig, 64)?;
    use k256::ecdsa::signature::Verifier;
    Ok(vk.verify(msg, &s).is_ok())
}

fn k256_key(data: &[u8]) -> Result<k256::ecdsa::VerifyingKey> {
    match k256::ecdsa::VerifyingKey::from_sec1_bytes(data) {
        Ok(vk) => Ok(vk),
        Err(_) => fail!(Signature, "the notary key is not a secp256k1 point"),
    }
}

fn k256_sig(data: &[u8], len: usize) -> Result<k256::ecdsa::Signature> {
    if data.len() != len {
        fail!(
            Signature,
            "expected a {len}-byte notary signature, got {} bytes",
            data.len()
        );
    }
    match k256::ecdsa::Signature::from_slice(&data[..64]) {
        Ok(s) => Ok(s),
        Err(_) => fail!(Signature, "the notary signature is not a valid (r, s) pair"),
    }
}
