//! The canonical form TLSNotary hashes and signs: BCS (ULEB128 lengths and enum variants, fixed-width
//! little-endian integers, `u8` ids), written for exactly the types that get hashed.

use alloc::vec::Vec;

use crate::ranges::RangeSet;
use crate::wire::{
    ConnectionInfo, Direction, EphemeralKey, Extension, HandshakeData, Header, PlaintextHash,
    TlsVersion, TypedHash, VerifyingKey,
};

#[derive(Default)]
pub struct Bcs(pub Vec<u8>);

impl Bcs {
    fn uleb(&mut self, mut n: u64) -> &mut Self {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(byte);
                return self;
            }
            self.0.push(byte | 0x80);
        }
    }

    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.uleb(b.len() as u64).raw(b)
    }

    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    fn u32(&mut self, v: u32) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }

    fn u64(&mut self, v: u64) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }

    fn typed_hash(&mut self, h: &TypedHash) -> &mut Self {
        self.u8(h.alg).bytes(&h.value)
    }

    fn ranges(&mut self, r: &RangeSet) -> &mut Self {
        self.uleb(r.ranges().len() as u64);
        for &(s, e) in r.ranges() {
            self.u64(s).u64(e);
        }
        self
    }

    fn ephemeral_key(&mut self, k: &EphemeralKey) -> &mut Self {
        self.uleb(k.typ as u64).bytes(&k.key)
    }
}

pub fn header(h: &Header) -> Vec<u8> {
    let mut w = Bcs::default();
    w.raw(&h.id).u32(h.version).typed_hash(&h.root);
    w.0
}

pub fn verifying_key(k: &VerifyingKey) -> Vec<u8> {
    let mut w = Bcs::default();
    w.u8(k.alg).bytes(&k.data);
    w.0
}

pub fn connection_info(c: &ConnectionInfo) -> Vec<u8> {
    let mut w = Bcs::default();
    let version = match c.version {
        TlsVersion::V1_2 => 0,
        TlsVersion::V1_3 => 1,
    };
    w.u64(c.time).uleb(version).u32(c.sent).u32(c.received);
    w.0
}

pub fn ephemeral_key(k: &EphemeralKey) -> Vec<u8> {
    let mut w = Bcs::default();
    w.ephemeral_key(k);
    w.0
}

pub fn typed_hash(h: &TypedHash) -> Vec<u8> {
    let mut w = Bcs::default();
    w.typed_hash(h);
    w.0
}

pub fn extension(e: &Extension) -> Vec<u8> {
    let mut w = Bcs::default();
    w.bytes(&e.id).bytes(&e.value);
    w.0
}

fn direction(d: Direction) -> u64 {
    match d {
        Direction::Sent => 0,
        Direction::Received => 1,
    }
}

/// `TranscriptCommitment::Hash(PlaintextHash)`, variant 0.
pub fn transcript_commitment(c: &PlaintextHash) -> Vec<u8> {
    let mut w = Bcs::default();
    w.uleb(0)
        .uleb(direction(c.direction))
        .ranges(&c.idx)
        .typed_hash(&c.hash);
    w.0
}

/// `HandshakeData` followed by the opening's blinder (the BCS of `Blinded { data, blinder }`).
pub fn cert_opening(d: &HandshakeData, blinder: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::new();
    cert_opening_into(d, blinder, &mut |piece| out.extend_from_slice(piece));
    out
}

/// [`cert_opening`] passed to `out` piece by piece: the certificates are most of it, so the hash of it is taken
/// without copying them all into one buffer first (in the zkVM every byte of a buffer costs its pages too).
pub fn cert_opening_into(d: &HandshakeData, blinder: &[u8; 16], out: &mut dyn FnMut(&[u8])) {
    let mut w = Bcs::default();
    w.uleb(d.certs.len() as u64);
    for cert in &d.certs {
        w.uleb(cert.len() as u64);
        out(&w.0);
        out(cert);
        w.0.clear();
    }
    w.uleb(d.sig_alg as u64).bytes(&d.sig);
    w.uleb(0)
        .raw(&d.client_random)
        .raw(&d.server_random)
        .ephemeral_key(&d.server_ephemeral_key);
    w.raw(blinder);
    out(&w.0);
}
