//! The zkVM's big-integer accelerator (RISC Zero's `risc0-bigint2` circuits) for the public-key operations
//! that dominate a verification in the zkVM: RSA's `s^e mod n` and ECDSA on 256-bit curves (the notary's
//! secp256k1, P-256 for notaries and servers). Only the arithmetic moves to the circuits; key and signature
//! parsing, range checks and padding stay in the portable code paths every backend shares, except that a
//! compressed secp256k1 notary key is decompressed here, with the same checks as k256 (its portable square
//! root cost ~250k cycles, more than anything else in a verification).
//!
//! Not here: SHA-256 through risc0's SHA ecall, measured on presentation.bin's certificate chain, cost as many
//! cycles as the `sha2` crate (256,678 against 253,681), so hashing stays portable.
//!
//! The accelerator's results are checked in the guest (each product is below its modulus, points are below
//! the prime), so a dishonest prover cannot make a bad signature verify.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use risc0_bigint2::ec::{AffinePoint, Curve, WeierstrassCurve};
use risc0_bigint2::field::{
    modadd_256, modinv_256, modmul_256, modmul_4096, modsub_256, FIELD_4096_WIDTH_WORDS,
};

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
pub type U256 = [u32; 8];

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

/// secp256k1's field prime.
const SECP256K1_P: U256 = words("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");

/// secp256k1's b: y^2 = x^3 + 7.
const SECP256K1_B: U256 = [7, 0, 0, 0, 0, 0, 0, 0];

/// SEC 2, section 2.4.1.
pub const SECP256K1: Params = Params {
    curve: WeierstrassCurve::new(
        SECP256K1_P,
        words("0000000000000000000000000000000000000000000000000000000000000000"),
        SECP256K1_B,
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

/// The point of a compressed secp256k1 key (`tag` 2 or 3 for an even or odd y, then `x`, big-endian) exactly
/// as k256 decodes it (x below p, x^3 + 7 a square, y the root of the tag's parity), or `None` if it is no
/// point. Only the arithmetic differs: k256's portable square root costs ~250k cycles, this one, the same
/// (p+1)/4-th power (p = 3 mod 4) with the same addition chain, a few hundred accelerated products, and the
/// root is checked by squaring it back.
pub fn secp256k1_decompress(tag: u8, x: &[u8; 32]) -> Option<(U256, U256)> {
    let p = &SECP256K1_P;
    let x = from_be(x);
    if !less(&x, p) || !(tag == 2 || tag == 3) {
        return None;
    }
    let mul = |a: &U256, b: &U256| {
        let mut out = [0u32; 8];
        modmul_256(a, b, p, &mut out);
        out
    };
    let sqn = |a: &U256, n: usize| (0..n).fold(*a, |acc, _| mul(&acc, &acc));
    let mut rhs = [0u32; 8];
    modadd_256(&mul(&mul(&x, &x), &x), &SECP256K1_B, p, &mut rhs);
    // (p+1)/4 in binary is blocks of 223, 22 and 2 ones: k256's chain builds each as a^(2^k - 1).
    let x2 = mul(&sqn(&rhs, 1), &rhs);
    let x3 = mul(&sqn(&x2, 1), &rhs);
    let x6 = mul(&sqn(&x3, 3), &x3);
    let x9 = mul(&sqn(&x6, 3), &x3);
    let x11 = mul(&sqn(&x9, 2), &x2);
    let x22 = mul(&sqn(&x11, 11), &x11);
    let x44 = mul(&sqn(&x22, 22), &x22);
    let x88 = mul(&sqn(&x44, 44), &x44);
    let x176 = mul(&sqn(&x88, 88), &x88);
    let x220 = mul(&sqn(&x176, 44), &x44);
    let x223 = mul(&sqn(&x220, 3), &x3);
    let y = sqn(&mul(&sqn(&mul(&sqn(&x223, 23), &x22), 6), &x2), 2);
    if mul(&y, &y) != rhs {
        return None;
    }
    if (y[0] & 1 == 1) == (tag == 3) {
        return Some((x, y));
    }
    let mut minus_y = [0u32; 8];
    modsub_256(&[0; 8], &y, p, &mut minus_y);
    Some((x, minus_y))
}

/// ECDSA verification on curve `C` (parameters `params`) with the key as big-endian coordinates; see
/// [`ecdsa_verify_point`].
pub fn ecdsa_verify<C: Curve<8>>(
    params: &Params,
    key: (&[u8], &[u8]),
    prehash: &[u8],
    r: &[u8],
    s: &[u8],
) -> bool {
    ecdsa_verify_point::<C>(params, (from_be(key.0), from_be(key.1)), prehash, r, s)
}

/// ECDSA verification on curve `C` (parameters `params`): the public key `(x, y)` must already be a valid point
/// and `r`, `s` in `[1, n)` (the callers parse both with the RustCrypto crates, which check exactly that); the
/// prehash is read as the leftmost 256 bits, as RustCrypto's `bits2field` does.
pub fn ecdsa_verify_point<C: Curve<8>>(
    params: &Params,
    key: (U256, U256),
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
    let q = AffinePoint::<8, C>::new_unchecked(key.0, key.1);
    let sum = double_mul(&g, &u1, &q, &u2);
    sum.as_u32s().is_some_and(|[x, _]| below(*x, n) == r)
}

/// `k*a + l*b` with one chain of doublings for both (Shamir's trick): ~256 doublings and ~192 additions,
/// where two multiplications and a sum take ~512 and ~257. `add` and `double` handle every special case
/// (identity, equal and opposite points) and check each result below the prime.
fn double_mul<C: Curve<8>>(
    a: &AffinePoint<8, C>,
    k: &U256,
    b: &AffinePoint<8, C>,
    l: &U256,
) -> AffinePoint<8, C> {
    let mut both = AffinePoint::IDENTITY;
    a.add(b, &mut both);
    let (mut acc, mut next) = (AffinePoint::IDENTITY, AffinePoint::IDENTITY);
    for i in (0..256).rev() {
        if !acc.is_identity() {
            acc.double(&mut next);
            core::mem::swap(&mut acc, &mut next);
        }
        let addend = match (k[i / 32] >> (i % 32) & 1, l[i / 32] >> (i % 32) & 1) {
            (1, 1) => &both,
            (1, _) => a,
            (_, 1) => b,
            _ => continue,
        };
        acc.add(addend, &mut next);
        core::mem::swap(&mut acc, &mut next);
    }
    acc
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
pub fn from_be(bytes: &[u8]) -> U256 {
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
