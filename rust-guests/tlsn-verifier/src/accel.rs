//! The zkVM's big-integer accelerator (RISC Zero's `risc0-bigint2` circuits) for the public-key operations
//! that dominate a verification in the zkVM: RSA's `s^e mod n` and ECDSA on 256-bit curves (the notary's
//! secp256k1, P-256 for notaries and servers). Only the arithmetic moves to the circuits; key and signature
//! parsing, range checks and padding stay in the portable code paths every backend shares.
//!
//! Not here: SHA-256 through risc0's SHA ecall, measured on presentation.bin's certificate chain, cost as many
//! cycles as the `sha2` crate (256,678 against 253,681), so hashing stays portable.
//!
//! The accelerator's results are checked in the guest (each product is below its modulus, points are below
//! the prime), so a dishonest prover cannot make a bad signature verify.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use risc0_bigint2::ec::{AffinePoint, Curve, WeierstrassCurve};
use risc0_bigint2::field::{modinv_256, modmul_256, modmul_4096, FIELD_4096_WIDTH_WORDS};

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Switches the accelerator off (or on again), to measure what it saves: the portable code gives the same
/// answers in many more cycles.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Words of a 256-bit number, least significant first (the accelerator's layout).
type U256 = [u32; 8];

/// `s^e mod n` for `n` of at most 4096 bits, with `s < n` (the caller checks); `None` for larger moduli.
pub fn rsa_public_op(n: &[u32], s: &[u32], e: u64) -> Option<Vec<u32>> {
    if !enabled() || n.len() > FIELD_4096_WIDTH_WORDS {
        return None;
    }
    let mut modulus = [0u32; FIELD_4096_WIDTH_WORDS];
    modulus[..n.len()].copy_from_slice(n);
    let mut base = [0u32; FIELD_4096_WIDTH_WORDS];
    base[..s.len()].copy_from_slice(s);
    let (mut acc, mut next) = (base, [0u32; FIELD_4096_WIDTH_WORDS]);
    for bit in (0..63 - e.leading_zeros()).rev() {
        modmul_4096(&acc, &acc, &modulus, &mut next);
        core::mem::swap(&mut acc, &mut next);
        if e >> bit & 1 == 1 {
            modmul_4096(&acc, &base, &modulus, &mut next);
            core::mem::swap(&mut acc, &mut next);
        }
    }
    Some(acc[..n.len()].to_vec())
}

/// A short-Weierstrass curve with its group order and generator.
pub struct Params {
    curve: WeierstrassCurve<8>,
    order: U256,
    generator: (U256, U256),
}

pub enum Secp256k1 {}
pub enum Secp256r1 {}

impl Curve<8> for Secp256k1 {
    const CURVE: &'static WeierstrassCurve<8> = &SECP256K1.curve;
}

impl Curve<8> for Secp256r1 {
    const CURVE: &'static WeierstrassCurve<8> = &SECP256R1.curve;
}

/// SEC 2, section 2.4.1.
pub const SECP256K1: Params = Params {
    curve: WeierstrassCurve::new(
        words("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"),
        words("0000000000000000000000000000000000000000000000000000000000000000"),
        words("0000000000000000000000000000000000000000000000000000000000000007"),
    ),
    order: words("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
    generator: (
        words("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
        words("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"),
    ),
};

/// SEC 2, section 2.4.2 (NIST P-256).
pub const SECP256R1: Params = Params {
    curve: WeierstrassCurve::new(
        words("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"),
        words("ffffffff00000001000000000000000000000000fffffffffffffffffffffffc"),
        words("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b"),
    ),
    order: words("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
    generator: (
        words("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"),
        words("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"),
    ),
};

/// ECDSA verification on curve `C` (parameters `params`): the public key `(x, y)` must already be a valid point
/// and `r`, `s` in `[1, n)` (the callers parse both with the RustCrypto crates, which check exactly that); the
/// prehash is read as the leftmost 256 bits, as RustCrypto's `bits2field` does.
pub fn ecdsa_verify<C: Curve<8>>(
    params: &Params,
    key: (&[u8], &[u8]),
    prehash: &[u8],
    r: &[u8],
    s: &[u8],
) -> bool {
    if prehash.len() < 32 {
        return false;
    }
    let n = &params.order;
    let (r, s) = (from_be(r), from_be(s));
    let z = below(from_be(&prehash[..32]), n);
    let mut w = [0u32; 8];
    modinv_256(&s, n, &mut w);
    let (mut u1, mut u2) = ([0u32; 8], [0u32; 8]);
    modmul_256(&z, &w, n, &mut u1);
    modmul_256(&r, &w, n, &mut u2);
    let g = AffinePoint::<8, C>::new_unchecked(params.generator.0, params.generator.1);
    let q = AffinePoint::<8, C>::new_unchecked(from_be(key.0), from_be(key.1));
    let (mut a, mut b, mut sum) = (
        AffinePoint::IDENTITY,
        AffinePoint::IDENTITY,
        AffinePoint::IDENTITY,
    );
    g.mul(&u1, &mut a);
    q.mul(&u2, &mut b);
    a.add(&b, &mut sum);
    sum.as_u32s().is_some_and(|[x, _]| below(*x, n) == r)
}

/// `x mod n` for `x < 2n` (true of any 256-bit number on these curves, whose orders exceed 2^255).
fn below(x: U256, n: &U256) -> U256 {
    if less(&x, n) {
        return x;
    }
    let mut out = [0u32; 8];
    let mut borrow = 0u64;
    for i in 0..8 {
        let d = (x[i] as u64).wrapping_sub(n[i] as u64).wrapping_sub(borrow);
        out[i] = d as u32;
        borrow = (d >> 63) & 1;
    }
    out
}

fn less(a: &U256, b: &U256) -> bool {
    (0..8)
        .rev()
        .find(|&i| a[i] != b[i])
        .is_some_and(|i| a[i] < b[i])
}

/// Big-endian bytes (at most 32) as words, least significant first.
fn from_be(bytes: &[u8]) -> U256 {
    let mut out = [0u32; 8];
    for (i, &byte) in bytes.iter().rev().enumerate().take(32) {
        out[i / 4] |= (byte as u32) << (8 * (i % 4));
    }
    out
}

/// 64 hex digits as words, least significant first.
const fn words(hex: &str) -> U256 {
    let hex = hex.as_bytes();
    assert!(hex.len() == 64);
    let mut out = [0u32; 8];
    let mut i = 0;
    while i < 64 {
        let c = hex[i];
        let digit = if c >= b'a' { c - b'a' + 10 } else { c - b'0' } as u32;
        let bit = 4 * (63 - i);
        out[bit / 32] |= digit << (bit % 32);
        i += 1;
    }
    out
}
