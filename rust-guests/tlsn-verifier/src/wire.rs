//! The presentation as it travels: bincode 1.x legacy encoding (little-endian integers, `u64` lengths, `u32`
//! enum variants, `u8` option tags). Every length is checked against the bytes that remain before anything is
//! allocated, so a hostile length costs nothing; trailing bytes are an error.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{fail, Result};
use crate::ranges::RangeSet;

/// Largest presentation accepted (TLSNotary's are a few KiB plus the revealed transcript).
pub const MAX_PRESENTATION: usize = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedHash {
    pub alg: u8,
    pub value: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Signature {
    pub alg: u8,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Header {
    pub id: [u8; 16],
    pub version: u32,
    pub root: TypedHash,
}

#[derive(Debug, Clone)]
pub struct VerifyingKey {
    pub alg: u8,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    V1_2,
    V1_3,
}

#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub time: u64,
    pub version: TlsVersion,
    pub sent: u32,
    pub received: u32,
}

/// `typ` 0 is the only key type TLSNotary defines: an uncompressed SECP256R1 point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeralKey {
    pub typ: u32,
    pub key: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Extension {
    pub id: Vec<u8>,
    pub value: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
        }
    }
}

/// `TranscriptCommitment::Hash` (variant 0, the only one TLSNotary defines).
#[derive(Debug, Clone)]
pub struct PlaintextHash {
    pub direction: Direction,
    pub idx: RangeSet,
    pub hash: TypedHash,
}

#[derive(Debug, Clone)]
pub struct Field<T> {
    pub id: u32,
    pub data: T,
}

#[derive(Debug, Clone)]
pub struct Body {
    pub verifying_key: Field<VerifyingKey>,
    pub connection_info: Field<ConnectionInfo>,
    pub server_ephemeral_key: Field<EphemeralKey>,
    pub cert_commitment: Field<TypedHash>,
    pub extensions: Vec<Field<Extension>>,
    pub transcript_commitments: Vec<Field<PlaintextHash>>,
}

#[derive(Debug, Clone)]
pub struct MerkleProof {
    pub alg: u8,
    pub leaf_count: u64,
    pub hashes: Vec<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct HandshakeData {
    pub certs: Vec<Vec<u8>>,
    pub sig_alg: u32,
    pub sig: Vec<u8>,
    pub client_random: [u8; 32],
    pub server_random: [u8; 32],
    pub server_ephemeral_key: EphemeralKey,
}

#[derive(Debug, Clone)]
pub struct IdentityProof {
    pub name: String,
    pub data: HandshakeData,
    pub blinder: [u8; 16],
}

#[derive(Debug, Clone)]
pub struct HashSecret {
    pub direction: Direction,
    pub idx: RangeSet,
    pub alg: u8,
    pub blinder: [u8; 16],
}

#[derive(Debug, Clone)]
pub struct TranscriptProof {
    pub sent_authed: Vec<u8>,
    pub received_authed: Vec<u8>,
    pub sent_idx: RangeSet,
    pub received_idx: RangeSet,
    pub sent_total: u64,
    pub received_total: u64,
    pub hash_secrets: Vec<HashSecret>,
}

#[derive(Debug, Clone)]
pub struct Presentation {
    pub signature: Signature,
    pub header: Header,
    pub body: Body,
    pub proof: MerkleProof,
    pub identity: Option<IdentityProof>,
    pub transcript: Option<TranscriptProof>,
}

/// Decodes a whole presentation; any malformed or left-over byte is an error naming the field.
pub fn decode(bytes: &[u8]) -> Result<Presentation> {
    if bytes.len() > MAX_PRESENTATION {
        fail!(
            Decode,
            "presentation is {} bytes, more than the {} accepted",
            bytes.len(),
            MAX_PRESENTATION
        );
    }
    let mut r = Reader {
        data: bytes,
        pos: 0,
    };
    let p = Presentation {
        signature: Signature {
            alg: r.u8("signature.alg")?,
            data: r.bytes("signature.data")?,
        },
        header: Header {
            id: r.array("header.id")?,
            version: r.u32("header.version")?,
            root: r.typed_hash("header.root")?,
        },
        body: r.body()?,
        proof: MerkleProof {
            alg: r.u8("body_proof.alg")?,
            leaf_count: r.u64("body_proof.leaf_count")?,
            hashes: r.seq("body_proof.proof_hashes", 8, |r| {
                r.bytes("body_proof.proof_hashes[]")
            })?,
        },
        identity: match r.option("identity")? {
            false => None,
            true => Some(r.identity()?),
        },
        transcript: match r.option("transcript")? {
            false => None,
            true => Some(r.transcript()?),
        },
    };
    if r.pos != bytes.len() {
        fail!(
            Decode,
            "{} unexpected bytes after the presentation (at offset {})",
            bytes.len() - r.pos,
            r.pos
        );
    }
    Ok(p)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let left = self.data.len() - self.pos;
        if n > left {
            fail!(
                Decode,
                "{what}: needs {n} bytes at offset {}, only {left} left (truncated?)",
                self.pos
            );
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A sequence length, refused when even `min_size`-byte elements could not fit in what is left.
    fn len(&mut self, what: &str, min_size: usize) -> Result<usize> {
        let at = self.pos;
        let n = self.u64(what)?;
        let left = (self.data.len() - self.pos) as u64;
        if n.saturating_mul(min_size.max(1) as u64) > left {
            fail!(
                Decode,
                "{what}: length {n} at offset {at} is more than the {left} bytes left"
            );
        }
        Ok(n as usize)
    }

    fn bytes(&mut self, what: &str) -> Result<Vec<u8>> {
        let n = self.len(what, 1)?;
        Ok(self.take(n, what)?.to_vec())
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let at = self.pos;
        match String::from_utf8(self.bytes(what)?) {
            Ok(s) => Ok(s),
            Err(_) => fail!(Decode, "{what}: not UTF-8 (at offset {at})"),
        }
    }

    fn seq<T>(
        &mut self,
        what: &str,
        min_size: usize,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let n = self.len(what, min_size)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(item(self)?);
        }
        Ok(out)
    }

    fn option(&mut self, what: &str) -> Result<bool> {
        let at = self.pos;
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            tag => fail!(
                Decode,
                "{what}: option tag {tag} at offset {at} (must be 0 or 1)"
            ),
        }
    }

    /// An enum variant index, which must be below `count`.
    fn variant(&mut self, what: &str, count: u32) -> Result<u32> {
        let at = self.pos;
        let v = self.u32(what)?;
        if v >= count {
            fail!(Decode, "{what}: unknown variant {v} at offset {at}");
        }
        Ok(v)
    }

    fn typed_hash(&mut self, what: &str) -> Result<TypedHash> {
        let alg = self.u8(what)?;
        let at = self.pos;
        let value = self.bytes(what)?;
        if value.len() > 64 {
            fail!(
                Decode,
                "{what}: hash of {} bytes at offset {at} (at most 64)",
                value.len()
            );
        }
        Ok(TypedHash { alg, value })
    }

    fn direction(&mut self, what: &str) -> Result<Direction> {
        Ok(match self.variant(what, 2)? {
            0 => Direction::Sent,
            _ => Direction::Received,
        })
    }

    fn ranges(&mut self, what: &str) -> Result<RangeSet> {
        let at = self.pos;
        let pairs = self.seq(what, 16, |r| Ok((r.u64(what)?, r.u64(what)?)))?;
        RangeSet::from_normalized(pairs).map_err(|e| {
            crate::error::Error::new(
                crate::error::Stage::Decode,
                alloc::format!("{what} (at offset {at}): {e}"),
            )
        })
    }

    fn field_id(&mut self, what: &str) -> Result<u32> {
        self.u32(what)
    }

    fn ephemeral_key(&mut self, what: &str) -> Result<EphemeralKey> {
        Ok(EphemeralKey {
            typ: self.variant(what, 1)?,
            key: self.bytes(what)?,
        })
    }

    fn body(&mut self) -> Result<Body> {
        Ok(Body {
            verifying_key: Field {
                id: self.field_id("body.verifying_key.id")?,
                data: VerifyingKey {
                    alg: self.u8("body.verifying_key.alg")?,
                    data: self.bytes("body.verifying_key.data")?,
                },
            },
            connection_info: Field {
                id: self.field_id("body.connection_info.id")?,
                data: ConnectionInfo {
                    time: self.u64("body.connection_info.time")?,
                    version: match self.variant("body.connection_info.version", 2)? {
                        0 => TlsVersion::V1_2,
                        _ => TlsVersion::V1_3,
                    },
                    sent: self.u32("body.connection_info.transcript_length.sent")?,
                    received: self.u32("body.connection_info.transcript_length.received")?,
                },
            },
            server_ephemeral_key: Field {
                id: self.field_id("body.server_ephemeral_key.id")?,
                data: self.ephemeral_key("body.server_ephemeral_key")?,
            },
            cert_commitment: Field {
                id: self.field_id("body.cert_commitment.id")?,
                data: self.typed_hash("body.cert_commitment")?,
            },
            extensions: self.seq("body.extensions", 20, |r| {
                Ok(Field {
                    id: r.field_id("body.extensions[].id")?,
                    data: Extension {
                        id: r.bytes("body.extensions[].id")?,
                        value: r.bytes("body.extensions[].value")?,
                    },
                })
            })?,
            transcript_commitments: self.seq("body.transcript_commitments", 25, |r| {
                let id = r.field_id("body.transcript_commitments[].id")?;
                r.variant("body.transcript_commitments[] kind", 1)?;
                Ok(Field {
                    id,
                    data: PlaintextHash {
                        direction: r.direction("body.transcript_commitments[].direction")?,
                        idx: r.ranges("body.transcript_commitments[].idx")?,
                        hash: r.typed_hash("body.transcript_commitments[].hash")?,
                    },
                })
            })?,
        })
    }

    fn identity(&mut self) -> Result<IdentityProof> {
        self.variant("identity.name kind", 1)?;
        Ok(IdentityProof {
            name: self.string("identity.name")?,
            data: HandshakeData {
                certs: self.seq("identity.certs", 8, |r| r.bytes("identity.certs[]"))?,
                sig_alg: self.variant("identity.sig.alg", 11)?,
                sig: self.bytes("identity.sig.sig")?,
                client_random: {
                    self.variant("identity.binding kind", 1)?;
                    self.array("identity.binding.client_random")?
                },
                server_random: self.array("identity.binding.server_random")?,
                server_ephemeral_key: self
                    .ephemeral_key("identity.binding.server_ephemeral_key")?,
            },
            blinder: self.array("identity.blinder")?,
        })
    }

    fn transcript(&mut self) -> Result<TranscriptProof> {
        Ok(TranscriptProof {
            sent_authed: self.bytes("transcript.sent_authed")?,
            received_authed: self.bytes("transcript.received_authed")?,
            sent_idx: self.ranges("transcript.sent_idx")?,
            received_idx: self.ranges("transcript.received_idx")?,
            sent_total: self.u64("transcript.sent_total")?,
            received_total: self.u64("transcript.received_total")?,
            hash_secrets: self.seq("transcript.hash_secrets", 29, |r| {
                Ok(HashSecret {
                    direction: r.direction("transcript.hash_secrets[].direction")?,
                    idx: r.ranges("transcript.hash_secrets[].idx")?,
                    alg: r.u8("transcript.hash_secrets[].alg")?,
                    blinder: r.array("transcript.hash_secrets[].blinder")?,
                })
            })?,
        })
    }
}
