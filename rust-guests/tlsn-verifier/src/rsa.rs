//! RSA signature verification (PKCS#1 v1.5 and PSS) written for speed on every target Loom builds for: the
//! public operation `s^e mod n` in Montgomery form on machine-word limbs: u64 natively and on wasm32 built with
//! the wide-arithmetic proposal (64x64->128-bit products; Loom's engine enables it), u32 otherwise. General-purpose bignum crates allocate per operation and emulate 128-bit products on 32-bit
//! targets, which made one RSA-2048 check cost ~15M wasm instructions; this costs a tenth of that. In the zkVM
//! the exponentiation runs on RISC Zero's 4096-bit multiplication circuit instead (`accel`).
//! Only public data is involved (verification), so nothing here needs to be constant-time.

use alloc::vec;
use alloc::vec::Vec;

use sha2::Digest;

#[cfg(any(target_pointer_width = "64", target_feature = "wide-arithmetic"))]
type Limb = u64;
#[cfg(any(target_pointer_width = "64", target_feature = "wide-arithmetic"))]
type Wide = u128;
#[cfg(not(any(target_pointer_width = "64", target_feature = "wide-arithmetic")))]
type Limb = u32;
#[cfg(not(any(target_pointer_width = "64", target_feature = "wide-arithmetic")))]
type Wide = u64;

const BITS: u32 = Limb::BITS;
const BYTES: usize = (BITS / 8) as usize;

/// An RSA public key of 2048 to 8192 bits with an odd exponent below 2^33 (webpki's and ring's bounds).
pub struct PublicKey {
    n: Vec<Limb>,   // little-endian limbs
    n_bytes: usize, // modulus length in bytes
    n_bits: usize,
    e: u64,
    n0inv: Limb, // -n^-1 mod 2^BITS
}

impl PublicKey {
    /// Parses a DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
    pub fn from_der(der: &[u8]) -> Option<PublicKey> {
        let (body, rest) = der_item(der, 0x30)?;
        if !rest.is_empty() {
            return None;
        }
        let (n, body) = der_item(body, 0x02)?;
        let (e, rest) = der_item(body, 0x02)?;
        if !rest.is_empty() {
            return None;
        }
        let n = positive(n)?;
        let e = positive(e)?;
        if e.len() > 5 {
            return None;
        }
        let e = e.iter().fold(0u64, |acc, &b| acc << 8 | b as u64);
        let n_bits = n.len() * 8 - n[0].leading_zeros() as usize;
        if !(2048..=8192).contains(&n_bits)
            || !(3..1 << 33).contains(&e)
            || e & 1 == 0
            || n[n.len() - 1] & 1 == 0
        {
            return None;
        }
        let limbs = to_limbs(n, n.len().div_ceil(BYTES));
        let n0inv = neg_inverse(limbs[0]);
        Some(PublicKey {
            n: limbs,
            n_bytes: n.len(),
            n_bits,
            e,
            n0inv,
        })
    }

    /// `sig^e mod n` as big-endian bytes of the modulus' length; `None` if `sig` is not a valid representative.
    fn public_op(&self, sig: &[u8]) -> Option<Vec<u8>> {
        if sig.len() != self.n_bytes {
            return None;
        }
        let k = self.n.len();
        let s = to_limbs(sig, k);
        if !less(&s, &self.n) {
            return None;
        }
        #[cfg(target_os = "zkvm")]
        if let Some(m) = crate::accel::rsa_public_op(&self.n, &s, self.e) {
            return Some(self.to_bytes(&m));
        }
        // Into Montgomery form: s * R mod n = mont_mul(s, R^2 mod n); then square-and-multiply.
        let s_mont = self.mont_mul(&s, &self.r_squared());
        let mut acc = s_mont.clone();
        for bit in (0..64 - self.e.leading_zeros() - 1).rev() {
            acc = self.mont_mul(&acc, &acc);
            if self.e >> bit & 1 == 1 {
                acc = self.mont_mul(&acc, &s_mont);
            }
        }
        let mut one = vec![0 as Limb; k];
        one[0] = 1;
        Some(self.to_bytes(&self.mont_mul(&acc, &one)))
    }

    /// A number below the modulus as big-endian bytes of the modulus' length.
    fn to_bytes(&self, m: &[Limb]) -> Vec<u8> {
        let mut out = vec![0u8; m.len() * BYTES];
        for (i, limb) in m.iter().enumerate() {
            let at = out.len() - (i + 1) * BYTES;
            out[at..at + BYTES].copy_from_slice(&limb.to_be_bytes());
        }
        out[out.len() - self.n_bytes..].to_vec()
    }

    /// `R^2 mod n` (R = 2^(k*BITS)) without division: `R mod n` (the Montgomery form of 1) by doubling from
    /// the modulus' top bit, doubled k more times to the form of 2^k, then squared log2(BITS) times, which makes
    /// it the form of 2^(k*BITS) = R, that is R^2 mod n.
    fn r_squared(&self) -> Vec<Limb> {
        let k = self.n.len();
        let mut x = vec![0 as Limb; k];
        let top = self.n_bits - 1;
        x[top / BITS as usize] = 1 << (top % BITS as usize);
        for _ in 0..(k * BITS as usize - top) + k {
            double_mod(&mut x, &self.n);
        }
        for _ in 0..BITS.trailing_zeros() {
            x = self.mont_mul(&x, &x);
        }
        x
    }

    /// Montgomery product `a * b / R mod n`, per limb of `b`: add `a * b_i` and the `n` clearing the low limb; shift.
    #[cfg(target_os = "zkvm")] // (two lines, as the doc was: the zkVM guest's bytes hold line numbers)
    fn mont_mul(&self, a: &[Limb], b: &[Limb]) -> Vec<Limb> {
        let (n, k) = (&self.n[..], self.n.len());
        let mut t = vec![0 as Limb; k + 1];
        for &bi in b {
            let m = t[0]
                .wrapping_add(a[0].wrapping_mul(bi))
                .wrapping_mul(self.n0inv) as Wide;
            let (mut c1, mut c2): (Wide, Wide) = (0, 0);
            for j in 0..k {
                let s1 = t[j] as Wide + a[j] as Wide * bi as Wide + c1;
                c1 = s1 >> BITS;
                let s2 = (s1 as Limb) as Wide + m * n[j] as Wide + c2;
                c2 = s2 >> BITS;
                if j > 0 {
                    t[j - 1] = s2 as Limb;
                }
            }
            let top = t[k] as Wide + c1 + c2;
            t[k - 1] = top as Limb;
            t[k] = (top >> BITS) as Limb;
        }
        if t[k] != 0 || !less(&t[..k], n) {
            sub_in_place(&mut t, n);
        }
        t.truncate(k);
        t
    }

    /// RSASSA-PKCS1-v1_5 with hash `D`: the decoded block must be exactly `00 01 FF.. 00 DigestInfo H(msg)`.
    pub fn verify_pkcs1<D: Digest>(&self, digest_info: &[u8], msg: &[u8], sig: &[u8]) -> bool {
        let Some(em) = self.public_op(sig) else {
            return false;
        };
        let hash = D::digest(msg);
        let t_len = digest_info.len() + hash.len();
        if em.len() < t_len + 11 {
            return false;
        }
        let pad = em.len() - t_len - 3;
        em[0] == 0
            && em[1] == 1
            && em[2..2 + pad].iter().all(|&b| b == 0xff)
            && em[2 + pad] == 0
            && &em[3 + pad..3 + pad + digest_info.len()] == digest_info
            && em[3 + pad + digest_info.len()..] == hash[..]
    }

    /// RSASSA-PSS with hash and MGF1 `D` and a salt as long as the digest (what TLS and webpki require).
    pub fn verify_pss<D: Digest>(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some(block) = self.public_op(sig) else {
            return false;
        };
        let em_bits = self.n_bits - 1;
        let em_len = em_bits.div_ceil(8);
        // The block has the modulus' length; EM is its last em_len bytes, and any byte before must be zero.
        let (lead, em) = block.split_at(block.len() - em_len);
        let h_len = <D as Digest>::output_size();
        if lead.iter().any(|&b| b != 0) || em_len < 2 * h_len + 2 || em[em_len - 1] != 0xbc {
            return false;
        }
        let (masked_db, h) = em[..em_len - 1].split_at(em_len - h_len - 1);
        let top_bits = 8 * em_len - em_bits;
        if top_bits > 0 && masked_db[0] >> (8 - top_bits) != 0 {
            return false;
        }
        let mut db = masked_db.to_vec();
        for (counter, chunk) in db.chunks_mut(h_len).enumerate() {
            let mask = D::new()
                .chain_update(h)
                .chain_update((counter as u32).to_be_bytes())
                .finalize();
            chunk.iter_mut().zip(mask.iter()).for_each(|(b, m)| *b ^= m);
        }
        if top_bits > 0 {
            db[0] &= 0xff >> top_bits;
        }
        let ps_len = em_len - 2 * h_len - 2;
        if db[..ps_len].iter().any(|&b| b != 0) || db[ps_len] != 1 {
            return false;
        }
        let salt = &db[ps_len + 1..];
        let expected = D::new()
            .chain_update([0u8; 8])
            .chain_update(D::digest(msg))
            .chain_update(salt)
            .finalize();
        expected[..] == *h
    }
}

/// DigestInfo prefixes for PKCS#1 v1.5 (RFC 8017, section 9.2, note 1).
pub const SHA256_PREFIX: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
pub const SHA384_PREFIX: &[u8] = &[
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
pub const SHA512_PREFIX: &[u8] = &[
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// One DER item with tag `tag` (definite length, minimal encoding not required beyond well-formedness):
/// its contents and what follows.
fn der_item(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = data.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if t != tag {
        return None;
    }
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 2 || rest.len() < count {
            return None;
        }
        (
            rest[..count]
                .iter()
                .fold(0usize, |acc, &b| acc << 8 | b as usize),
            &rest[count..],
        )
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// The magnitude of a positive DER INTEGER, without its sign byte; `None` for zero or negative values.
fn positive(int: &[u8]) -> Option<&[u8]> {
    let (&first, _) = int.split_first()?;
    if first & 0x80 != 0 {
        return None;
    }
    let trimmed = if first == 0 { &int[1..] } else { int };
    (trimmed.first().is_some_and(|&b| b != 0)).then_some(trimmed)
}

/// Big-endian bytes as `k` little-endian limbs (bytes beyond `k` limbs must not exist: callers check sizes).
fn to_limbs(be: &[u8], k: usize) -> Vec<Limb> {
    let mut out = vec![0 as Limb; k];
    for (i, &b) in be.iter().rev().enumerate() {
        out[i / BYTES] |= (b as Limb) << (8 * (i % BYTES));
    }
    out
}

fn less(a: &[Limb], b: &[Limb]) -> bool {
    for i in (0..a.len()).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}

/// `a -= b` over `b.len()` limbs, borrowing into any limbs `a` has beyond.
fn sub_in_place(a: &mut [Limb], b: &[Limb]) {
    let mut borrow = false;
    for (i, ai) in a.iter_mut().enumerate() {
        let bi = b.get(i).copied().unwrap_or(0);
        let (d1, o1) = ai.overflowing_sub(bi);
        let (d2, o2) = d1.overflowing_sub(borrow as Limb);
        *ai = d2;
        borrow = o1 || o2;
    }
}

/// `a = 2a mod n`, for `a < n`.
fn double_mod(a: &mut [Limb], n: &[Limb]) {
    let mut carry = 0;
    for limb in a.iter_mut() {
        let next = *limb >> (BITS - 1);
        *limb = *limb << 1 | carry;
        carry = next;
    }
    if carry == 1 || !less(a, n) {
        sub_in_place(a, n);
    }
}

/// `-x^-1 mod 2^BITS` for odd `x` (Newton's iteration doubles the correct bits each step).
fn neg_inverse(x: Limb) -> Limb {
    let mut inv: Limb = 1;
    for _ in 0..7 {
        inv = inv.wrapping_mul((2 as Limb).wrapping_sub(x.wrapping_mul(inv)));
    }
    inv.wrapping_neg()
}

/// The Montgomery product natively and in wasm: the passes of the zkVM's `mont_mul` above, with the inner loop
/// unrolled four times and no bounds check inside it (every slice is `k` limbs, `t` is `k + 1`: checked once up
/// front). In wasm, where wasmtime meters fuel per basic block, the metering is then paid per four limbs instead of
/// per limb (in the rolled loop it cost as much as the arithmetic). It lives at the end of the file, and the zkVM
/// keeps the rolled loop, so that the zkVM guest's bytes (which hold line numbers) do not change; when the guests'
/// image IDs are next re-pinned (a risc0 release, say), the zkVM takes this one too and the rolled loop goes.
#[cfg(not(target_os = "zkvm"))]
impl PublicKey {
    fn mont_mul(&self, a: &[Limb], b: &[Limb]) -> Vec<Limb> {
        let k = self.n.len();
        assert!(k >= 1 && a.len() == k && b.len() == k);
        let n = &self.n[..];
        let mut t = vec![0 as Limb; k + 1];
        for &bi in b {
            let m = t[0]
                .wrapping_add(a[0].wrapping_mul(bi))
                .wrapping_mul(self.n0inv) as Wide;
            let bi = bi as Wide;
            // Limb 0: its sum's low limb is zero by the choice of m, only the carries go on.
            let s1 = t[0] as Wide + a[0] as Wide * bi;
            let s2 = (s1 as Limb) as Wide + m * n[0] as Wide;
            let (mut c1, mut c2) = (s1 >> BITS, s2 >> BITS);
            let t_ptr = t.as_mut_ptr();
            // SAFETY: 1 <= j < k, so j - 1 and j are inside `t` (k + 1 limbs), and j inside `a` and `n` (k limbs).
            let mut step = |j: usize| unsafe {
                let s1 = *t_ptr.add(j) as Wide + *a.get_unchecked(j) as Wide * bi + c1;
                c1 = s1 >> BITS;
                let s2 = (s1 as Limb) as Wide + m * *n.get_unchecked(j) as Wide + c2;
                c2 = s2 >> BITS;
                *t_ptr.add(j - 1) = s2 as Limb;
            };
            let mut j = 1;
            while j + 4 <= k {
                step(j);
                step(j + 1);
                step(j + 2);
                step(j + 3);
                j += 4;
            }
            while j < k {
                step(j);
                j += 1;
            }
            let top = t[k] as Wide + c1 + c2;
            t[k - 1] = top as Limb;
            t[k] = (top >> BITS) as Limb;
        }
        if t[k] != 0 || !less(&t[..k], n) {
            sub_in_place(&mut t, n);
        }
        t.truncate(k);
        t
    }
}
