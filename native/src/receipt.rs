//! Receipts: risc0's own serialized form (bincode of `risc0_zkvm::Receipt`), so that they interoperate with
//! risc0's Rust verifier both ways, and their verification against an image ID. Verification refuses dev-mode
//! (fake) receipts unless explicitly allowed, and receipts whose descriptive fields disagree with what they describe.
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use risc0_zkvm::sha::{Digest, Digestible};
use risc0_zkvm::{CompositeReceipt, InnerAssumptionReceipt, InnerReceipt, VerifierContext};

use crate::errors::{catch_quietly, NativeError, NativeResult};

/// A receipt: the journal (public output) and the seal that proves a guest produced it.
#[pyclass(frozen, module = "pipeline._native")]
pub struct Receipt {
    pub(crate) inner: risc0_zkvm::Receipt,
}

#[pymethods]
impl Receipt {
    /// "composite", "succinct", "groth16", or "fake" for a dev-mode receipt (no cryptographic integrity).
    #[getter]
    pub(crate) fn kind(&self) -> &'static str {
        match &self.inner.inner {
            InnerReceipt::Composite(_) => "composite",
            InnerReceipt::Succinct(_) => "succinct",
            InnerReceipt::Groth16(_) => "groth16",
            InnerReceipt::Fake(_) => "fake",
            _ => "unknown",
        }
    }

    /// True for dev-mode receipts: they prove nothing and verify only when explicitly allowed.
    #[getter]
    fn is_dev_mode(&self) -> bool {
        matches!(self.inner.inner, InnerReceipt::Fake(_))
    }

    #[getter]
    fn journal<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.journal.bytes)
    }

    /// Size of the seal in bytes (what a verifier must download besides the journal).
    #[getter]
    fn seal_size(&self) -> usize {
        self.inner.seal_size()
    }

    /// The image ID the receipt's claim names (hex); verification still needs the image ID you expect.
    #[getter]
    fn claimed_image_id(&self) -> NativeResult<String> {
        let claim = self
            .inner
            .claim()
            .map_err(|e| NativeError::ReceiptInvalid(format!("receipt claim unreadable: {e}")))?;
        let pre = claim
            .as_value()
            .map_err(|e| NativeError::ReceiptInvalid(format!("receipt claim is pruned: {e}")))?
            .pre
            .digest();
        Ok(hex::encode(pre.as_bytes()))
    }

    /// Verifies the receipt against `image_id` (hex) and returns the journal it proves.
    #[pyo3(signature = (image_id, *, allow_dev_mode = false))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        image_id: &str,
        allow_dev_mode: bool,
    ) -> NativeResult<Bound<'py, PyBytes>> {
        let expected = parse_digest(image_id)?;
        if self.is_dev_mode() && !allow_dev_mode {
            return Err(NativeError::ReceiptInvalid(
                "dev-mode (fake) receipt refused: it proves nothing; allow dev mode explicitly to accept it in tests"
                    .into(),
            ));
        }
        let claimed = self.claimed_image_id().ok();
        py.detach(|| {
            check_release(&self.inner.inner)?;
            check_seals(&self.inner.inner)?;
            let ctx = VerifierContext::default().with_dev_mode(allow_dev_mode);
            // risc0's verifier can still panic on a seal of the wrong length (it reads past its end, or asserts
            // that nothing is left): that is a rejection too.
            catch_quietly(|| self.inner.verify_with_context(&ctx, expected))
                .map_err(|panic| format!("malformed seal ({panic})"))?
                .map_err(|e| e.to_string())?;
            check_descriptive_fields(&self.inner, &ctx)
        })
        .map_err(|e| match claimed {
            Some(claimed) if claimed != hex::encode(expected.as_bytes()) => {
                NativeError::ImageIdMismatch(format!(
                    "receipt is for image {claimed}, expected {}",
                    hex::encode(expected.as_bytes())
                ))
            }
            _ => NativeError::ReceiptInvalid(format!("receipt does not verify: {e}")),
        })?;
        Ok(PyBytes::new(py, &self.inner.journal.bytes))
    }

    /// risc0's own serialized form (bincode of `risc0_zkvm::Receipt`).
    fn to_bytes<'py>(&self, py: Python<'py>) -> NativeResult<Bound<'py, PyBytes>> {
        let bytes = bincode::serialize(&self.inner)
            .map_err(|e| NativeError::ReceiptInvalid(format!("cannot encode receipt: {e}")))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Decodes risc0's serialized form; trailing bytes are refused, as is anything else that is not exactly one
    /// receipt.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> NativeResult<Self> {
        let inner = py
            .detach(|| crate::codec::decode_exact::<risc0_zkvm::Receipt>(data))
            .map_err(|e| {
                NativeError::ReceiptInvalid(format!(
                    "not a risc0 receipt ({} bytes): {e}",
                    data.len()
                ))
            })?;
        Ok(Self { inner })
    }

    fn __repr__(&self) -> String {
        format!(
            "Receipt(kind={:?}, journal_len={}, seal_size={})",
            self.kind(),
            self.inner.journal.bytes.len(),
            self.seal_size()
        )
    }
}

/// risc0 deliberately leaves some descriptive fields of a receipt unchecked: a segment receipt's index and the digest
/// of its verifier parameters, and a succinct receipt's control ID (the seal proves its own, and the inclusion
/// proof is checked against that one; high bits of the proof's index are never read). Loom refuses receipts in
/// which they disagree with what they describe, so that no altered byte of a receipt goes unnoticed.
fn check_descriptive_fields(
    receipt: &risc0_zkvm::Receipt,
    ctx: &VerifierContext,
) -> Result<(), String> {
    match &receipt.inner {
        InnerReceipt::Composite(composite) => {
            let expected = ctx.segment_verifier_parameters.as_ref().map(|p| p.digest());
            for (position, segment) in composite.segments.iter().enumerate() {
                if segment.index as usize != position {
                    return Err(format!(
                        "segment {position} is labelled as segment {}",
                        segment.index
                    ));
                }
                if Some(segment.verifier_parameters) != expected {
                    return Err(format!(
                        "segment {position} names verifier parameters this verifier does not use"
                    ));
                }
            }
        }
        InnerReceipt::Succinct(succinct) => {
            let params = ctx
                .succinct_verifier_parameters
                .as_ref()
                .ok_or("no succinct verifier parameters")?;
            let suite = ctx
                .suites
                .get(&succinct.hashfn)
                .ok_or("unknown hash function")?;
            let proof = &succinct.control_inclusion_proof;
            if proof.digests.len() >= 32 || proof.index >> proof.digests.len() != 0 {
                return Err("the control inclusion proof's index lies outside its tree".into());
            }
            proof
                .verify(
                    &succinct.control_id,
                    &params.control_root,
                    suite.hashfn.as_ref(),
                )
                .map_err(|_| {
                    "the receipt's control ID is not the recursion program its seal proves"
                        .to_string()
                })?;
        }
        _ => {}
    }
    Ok(())
}

/// The circuit receipts are proven on with this release of risc0 (`build_info`, and refusals that name another).
pub const CIRCUIT: &str = "rv32im-m3";

/// Other risc0 releases' verifier parameters (the digests a composite receipt or a succinct seal carries): a receipt
/// made by one of them is refused saying which, not only that its parameters are not these. Computed with each
/// release's own `CompositeReceiptVerifierParameters::default()` and `SuccinctReceiptVerifierParameters::default()`
/// (3.0.6: `risc0-v3-host params`, benches/risc0-v3). Segment parameters do not tell 3.0.6 from 5.0.0-rc.1: their
/// digests are equal.
const OTHER_RELEASES: &[(&str, &str, &str)] = &[
    // (digest, kind of parameters, made by)
    (
        "4bce006e0858edf3a3726987c0b1b6258224c000971e451bc9c05cfec086a84b",
        "composite",
        V3,
    ),
    (
        "ece5e9b8ae2cd6ea6b1827b464ff0348f9a7f4decd269c0087fdfd75098da013",
        "succinct",
        V3,
    ),
];
const V3: &str = "risc0-zkvm 3.0.6 (the rv32im v2 circuit)";

/// Refuses, naming the release, a receipt (or a succinct receipt inside it) that carries another risc0 release's
/// verifier parameters: its seal is for another circuit, which this verifier cannot check.
fn check_release(inner: &InnerReceipt) -> Result<(), String> {
    let ours = [
        risc0_zkvm::CompositeReceiptVerifierParameters::default().digest(),
        risc0_zkvm::SegmentReceiptVerifierParameters::default().digest(),
        risc0_zkvm::SuccinctReceiptVerifierParameters::default().digest(),
    ];
    let carried: Vec<Digest> = match inner {
        InnerReceipt::Composite(composite) => std::iter::once(composite.verifier_parameters)
            .chain(composite.segments.iter().map(|s| s.verifier_parameters))
            .chain(
                composite
                    .assumption_receipts
                    .iter()
                    .filter_map(|a| match a {
                        InnerAssumptionReceipt::Succinct(s) => Some(s.verifier_parameters),
                        _ => None,
                    }),
            )
            .collect(),
        InnerReceipt::Succinct(succinct) => vec![succinct.verifier_parameters],
        _ => vec![],
    };
    for digest in carried {
        if ours.contains(&digest) {
            continue;
        }
        let hex = hex::encode(digest.as_bytes());
        if let Some((_, kind, release)) = OTHER_RELEASES.iter().find(|(d, _, _)| *d == hex) {
            return Err(format!(
                "it was made by {release} (its {kind} verifier parameters are that release's); this Loom verifies \
                 receipts of risc0-zkvm {} (the {CIRCUIT} circuit)",
                risc0_zkvm::VERSION
            ));
        }
    }
    Ok(())
}

/// BabyBear's modulus: every word of a Poseidon2 seal past its header is a field element (or a digest of them)
/// below it.
const FIELD_MODULUS: u32 = risc0_zkp::field::baby_bear::P;
/// The rv32im circuit's seal format (`risc0_circuit_rv32im::RV32IM_SEAL_VERSION`): seal[0] names it, seal[1] is the
/// segment's po2.
const RV32IM_SEAL_VERSION: u32 = 3;

/// What Loom checks before risc0's verifier reads a seal, because risc0 panics on it rather than refusing it: a
/// seal too short for its header, a cycle count past the circuit's (a shift and reads of that size), a word that is
/// not a field element (a checked cast). Assumption receipts inside a composite receipt are checked the same way.
fn check_seals(inner: &InnerReceipt) -> Result<(), String> {
    match inner {
        InnerReceipt::Composite(composite) => check_composite(composite),
        InnerReceipt::Succinct(succinct) => succinct_words(succinct, "the succinct seal"),
        _ => Ok(()),
    }
}

fn check_composite(composite: &CompositeReceipt) -> Result<(), String> {
    for (i, segment) in composite.segments.iter().enumerate() {
        let seal = &segment.seal;
        if seal.len() < 2 || seal[0] != RV32IM_SEAL_VERSION {
            return Err(format!(
                "segment {i}'s seal is not an rv32im seal of version {RV32IM_SEAL_VERSION}"
            ));
        }
        if !(1..=risc0_zkp::MAX_CYCLES_PO2).contains(&(seal[1] as usize)) {
            return Err(format!(
                "segment {i}'s seal claims 2^{} cycles, past the circuit's 2^{}",
                seal[1],
                risc0_zkp::MAX_CYCLES_PO2
            ));
        }
        field_words(&seal[2..], &format!("segment {i}'s seal"))?;
    }
    for (i, assumption) in composite.assumption_receipts.iter().enumerate() {
        match assumption {
            InnerAssumptionReceipt::Composite(inner) => check_composite(inner),
            InnerAssumptionReceipt::Succinct(inner) => {
                succinct_words(inner, &format!("assumption {i}'s seal"))
            }
            _ => Ok(()),
        }?;
    }
    Ok(())
}

/// A recursion seal hashed with Poseidon2 is field elements throughout (digests included); one hashed otherwise
/// holds digests of any bits, and is left to risc0.
fn succinct_words<C>(receipt: &risc0_zkvm::SuccinctReceipt<C>, what: &str) -> Result<(), String> {
    match receipt.hashfn.as_str() {
        "poseidon2" => field_words(&receipt.seal, what),
        _ => Ok(()),
    }
}

fn field_words(words: &[u32], what: &str) -> Result<(), String> {
    match words.iter().position(|&w| w >= FIELD_MODULUS) {
        Some(at) => Err(format!(
            "{what} holds a word that is no field element (word {at})"
        )),
        None => Ok(()),
    }
}

fn parse_digest(image_id: &str) -> NativeResult<Digest> {
    let bytes = hex::decode(image_id.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            NativeError::InvalidInput(format!(
                "image ID must be 64 hex characters, got {image_id:?}"
            ))
        })?;
    Ok(Digest::try_from(bytes.as_slice()).expect("32 bytes"))
}

/// The digests of this release's verifier parameters, by receipt kind: what the receipts it makes carry, and what
/// names the release a receipt was made for.
#[pyfunction]
fn verifier_parameters() -> std::collections::BTreeMap<&'static str, String> {
    let hex = |d: Digest| hex::encode(d.as_bytes());
    std::collections::BTreeMap::from([
        (
            "composite",
            hex(risc0_zkvm::CompositeReceiptVerifierParameters::default().digest()),
        ),
        (
            "segment",
            hex(risc0_zkvm::SegmentReceiptVerifierParameters::default().digest()),
        ),
        (
            "succinct",
            hex(risc0_zkvm::SuccinctReceiptVerifierParameters::default().digest()),
        ),
    ])
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Receipt>()?;
    m.add_function(wrap_pyfunction!(verifier_parameters, m)?)?;
    Ok(())
}
