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

/// The domain separators of the types this crate hashes, precomputed: each is otherwise a BLAKE3 compression
/// per hashed field (~2k zkVM cycles). A test checks them against [`domain_of`].
const DOMAINS: [(&str, [u8; 16]); 7] = [
    (
        "VerifyingKey",
        *b"\xae\xc3\x7d\x45\xb9\x9c\x4e\x4b\x63\x77\x06\xb1\xe9\x78\xa3\xeb",
    ),
    (
        "tlsn_core::connection::ConnectionInfo",
        *b"\x6e\x31\x74\x87\x90\x4a\xf4\x60\xf6\xbb\xa7\x93\x61\x0c\x99\x61",
    ),
    (
        "tlsn_core::connection::ServerEphemKey",
        *b"\x23\x30\x2a\xf3\x21\x3e\x5b\x0a\x44\xd3\xf7\xba\x9c\xf3\x3e\x93",
    ),
    (
        "ServerCertCommitment",
        *b"\xd0\xf7\x10\x7f\xeb\x7e\xec\x1e\x57\x93\xd2\xe8\xa2\xb6\x96\xf0",
    ),
    (
        "Extension",
        *b"\x67\xed\x56\x7f\x31\x2c\xa4\x82\xb9\xf3\x65\xcc\x27\x1b\xaa\x42",
    ),
    (
        "tlsn_core::transcript::TranscriptCommitment",
        *b"\xbd\x0a\xb9\xac\x6e\xa9\x3e\xbd\xa2\x50\x0e\x87\x69\xe6\x3a\x9e",
    ),
    (
        "ServerCertOpening",
        *b"\xcb\xb4\xd5\x36\xa2\xc6\xe5\xcd\x5d\x16\x8c\x0c\x7d\xac\x5d\x8b",
    ),
];

/// TLSNotary's domain separator for a type: the first 16 bytes of BLAKE3 of its name, whatever the hash.
pub fn domain(type_name: &str) -> [u8; 16] {
    match DOMAINS.iter().find(|(name, _)| *name == type_name) {
        Some((_, domain)) => *domain,
        None => domain_of(type_name),
    }
}

/// [`domain`] computed.
pub fn domain_of(type_name: &str) -> [u8; 16] {
    let full = blake3::hash(type_name.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&full.as_bytes()[..16]);
    out
}

/// `H(domain(type_name) || bcs)`: how TLSNotary hashes a value it commits to.
pub fn separated(alg: HashAlg, type_name: &str, bcs: &[u8]) -> [u8; 32] {
    alg.digest(&[&domain(type_name), bcs])
}

/// [`separated`] for a BCS encoding that `write` passes to its sink piece by piece, never built whole.
pub fn separated_with(
    alg: HashAlg,
    type_name: &str,
    write: impl FnOnce(&mut dyn FnMut(&[u8])),
) -> [u8; 32] {
    let domain = domain(type_name);
    match alg {
        HashAlg::Sha256 => {
            let mut h = sha2::Sha256::new_with_prefix(domain);
            write(&mut |piece| h.update(piece));
            h.finalize().into()
        }
        HashAlg::Keccak256 => {
            let mut h = sha3::Keccak256::new_with_prefix(domain);
            write(&mut |piece| h.update(piece));
            h.finalize().into()
        }
        HashAlg::Blake3 => {
            let mut h = blake3::Hasher::new();
            h.update(&domain);
            write(&mut |piece| {
                h.update(piece);
            });
            h.finalize().into()
        }
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn precomputed_domains_are_blake3_of_the_names() {
        for (name, domain) in super::DOMAINS {
            assert_eq!(domain, super::domain_of(name), "{name}");
        }
    }
}
