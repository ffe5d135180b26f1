//! The hash algorithms TLSNotary names by id, domain separation, and the Merkle root over the body's fields.

use alloc::vec::Vec;

use sha2::Digest;

use crate::error::{fail, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HashAlg {
    Sha256,
    Blake3,
    Keccak256,
}

impl HashAlg {
    pub const ALL: [HashAlg; 3] = [HashAlg::Sha256, HashAlg::Blake3, HashAlg::Keccak256];

    /// The algorithm with TLSNotary's id (1 SHA-256, 2 BLAKE3, 3 Keccak-256).
    pub fn from_id(id: u8) -> Result<HashAlg> {
        match id {
            1 => Ok(HashAlg::Sha256),
            2 => Ok(HashAlg::Blake3),
            3 => Ok(HashAlg::Keccak256),
            128.. => fail!(
                Unsupported,
                "custom hash algorithm {id} (ids 128 and up are private to their user)"
            ),
            _ => fail!(Decode, "unknown hash algorithm id {id}"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Blake3 => "blake3",
            HashAlg::Keccak256 => "keccak256",
        }
    }

    pub fn from_name(name: &str) -> Option<HashAlg> {
        HashAlg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The digest of the concatenation of `parts`.
    pub fn digest(self, parts: &[&[u8]]) -> [u8; 32] {
        match self {
            HashAlg::Sha256 => {
                let mut h = sha2::Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().into()
            }
            HashAlg::Keccak256 => {
                let mut h = sha3::Keccak256::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().into()
            }
            HashAlg::Blake3 => {
                let mut h = blake3::Hasher::new();
                parts.iter().for_each(|p| {
                    h.update(p);
                });
                h.finalize().into()
            }
        }
    }
}

/// TLSNotary's domain separator for a type: the first 16 bytes of BLAKE3 of its name, whatever the hash.
pub fn domain(type_name: &str) -> [u8; 16] {
    let full = blake3::hash(type_name.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&full.as_bytes()[..16]);
    out
}

/// `H(domain(type_name) || bcs)`: how TLSNotary hashes a value it commits to.
pub fn separated(alg: HashAlg, type_name: &str, bcs: &[u8]) -> [u8; 32] {
    alg.digest(&[&domain(type_name), bcs])
}

/// The root of rs_merkle's tree over `leaves` (in order): parents are `H(left || right)` and an unpaired last
/// node moves up a level unchanged.
pub fn merkle_root(alg: HashAlg, leaves: &[[u8; 32]]) -> Option<[u8; 32]> {
    let mut level: Vec<[u8; 32]> = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => alg.digest(&[left, right]),
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    level.first().copied()
}
