//! RISC Zero's recursion, in parts: execute a guest into segments, prove one segment, lift a segment receipt,
//! join two succinct receipts, resolve an assumption, and wrap the result as a receipt. Every part takes and
//! gives bytes in risc0's own encoding (bincode), so the parts can run in different processes or machines; each
//! releases the GIL.
//!
//! The recursion programs come from risc0-circuit-recursion-control-zkrs (scripts/patch-risc0.sh);
//! `check_recursion_programs` compares each one's control ID with the ID risc0 lists for it.
use crate::codec::{decode, encode};
use crate::errors::{NativeError, NativeResult, Step};
use crate::prove::Session;
use crate::receipt::Receipt;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use risc0_circuit_recursion::control_id::POSEIDON2_CONTROL_IDS;
use risc0_zkp::core::hash::poseidon2::Poseidon2HashSuite;
use risc0_zkvm::sha::{Digest, Digestible};
use risc0_zkvm::{
    get_prover_server, CompositeReceipt, InnerAssumptionReceipt, InnerReceipt, ProverOpts,
    ProverServer, ReceiptClaim, Segment, SegmentReceipt, SuccinctReceipt, Unknown, VerifierContext,
    RECURSION_PO2,
};

/// The recursion programs Loom needs beyond the lifts (which ship in risc0-circuit-recursion-zkrs).
const PROGRAMS: [&str; 4] = ["identity.zkr", "join.zkr", "resolve.zkr", "union.zkr"];

/// Checks every recursion program this build embeds against the control ID risc0-zkvm expects for it; returns
/// the (name, control ID) pairs, or raises ProvingFailed naming the first mismatch.
#[pyfunction]
pub fn check_recursion_programs(py: Python<'_>) -> NativeResult<Vec<(String, String)>> {
    py.detach(|| {
        PROGRAMS
            .iter()
            .map(|name| {
                let expected = POSEIDON2_CONTROL_IDS
                    .iter()
                    .find_map(|(n, id)| (n == name).then_some(*id))
                    .ok_or_else(|| NativeError::ProvingFailed(format!("risc0 lists no control ID for {name}")))?;
                let program = risc0_circuit_recursion::prove::zkr::get_zkr(name, RECURSION_PO2)
                    .map_err(|e| NativeError::ProvingFailed(format!("recursion program {name} is missing: {e:#}")))?;
                let actual = program
                    .compute_control_id(Poseidon2HashSuite::new_suite())
                    .map_err(|e| NativeError::ProvingFailed(format!("{name}: {e:#}")))?;
                if actual != expected {
                    return Err(NativeError::ProvingFailed(format!(
                        "recursion program {name} has control ID {actual}, but risc0 expects {expected}: \
                         the patched recursion crate embeds the wrong programs (scripts/patch-risc0.sh)"
                    )));
                }
                Ok((name.to_string(), hex::encode(actual.as_bytes())))
            })
            .collect()
    })
}

pub(crate) fn prover() -> NativeResult<std::rc::Rc<dyn ProverServer>> {
    get_prover_server(&ProverOpts::default()).step("start the prover")
}

/// The segments of an execution, each in risc0's encoding, in order.
pub(crate) fn segments_of(session: &Session) -> NativeResult<Vec<Vec<u8>>> {
    session
        .segments
        .iter()
        .map(|r| {
            let segment = r.resolve().step("segment")?;
            encode(&segment, "segment")
        })
        .collect()
}

/// Proves one segment (risc0-encoded `Segment`); returns its `SegmentReceipt`.
#[pyfunction]
pub fn prove_segment<'py>(py: Python<'py>, segment: &[u8]) -> NativeResult<Bound<'py, PyBytes>> {
    let out = py.detach(|| {
        let segment: Segment = decode(segment, "segment")?;
        let mut receipts = prover()?
            .prove_segment(&VerifierContext::default(), &segment)
            .step("prove segment")?;
        if receipts.len() != 1 {
            return Err(NativeError::ProvingFailed(format!(
                "a segment gave {} receipts, not one",
                receipts.len()
            )));
        }
        encode(&receipts.remove(0), "segment receipt")
    })?;
    Ok(PyBytes::new(py, &out))
}

/// Lifts a `SegmentReceipt` into a `SuccinctReceipt<ReceiptClaim>`.
#[pyfunction]
pub fn lift<'py>(py: Python<'py>, segment_receipt: &[u8]) -> NativeResult<Bound<'py, PyBytes>> {
    let out = py.detach(|| {
        let receipt: SegmentReceipt = decode(segment_receipt, "segment receipt")?;
        encode(&prover()?.lift(&receipt).step("lift")?, "succinct receipt")
    })?;
    Ok(PyBytes::new(py, &out))
}

/// Joins two succinct receipts of consecutive parts of one execution (`a` first) into one.
#[pyfunction]
pub fn join<'py>(py: Python<'py>, a: &[u8], b: &[u8]) -> NativeResult<Bound<'py, PyBytes>> {
    let out = py.detach(|| {
        let a: SuccinctReceipt<ReceiptClaim> = decode(a, "succinct receipt")?;
        let b: SuccinctReceipt<ReceiptClaim> = decode(b, "succinct receipt")?;
        encode(&prover()?.join(&a, &b).step("join")?, "succinct receipt")
    })?;
    Ok(PyBytes::new(py, &out))
}

/// Resolves the first assumption of a conditional succinct receipt with a succinct receipt of that assumption.
#[pyfunction]
pub fn resolve<'py>(
    py: Python<'py>,
    conditional: &[u8],
    assumption: &[u8],
) -> NativeResult<Bound<'py, PyBytes>> {
    let out = py.detach(|| {
        let conditional: SuccinctReceipt<ReceiptClaim> = decode(conditional, "succinct receipt")?;
        let assumption: SuccinctReceipt<ReceiptClaim> = decode(assumption, "succinct receipt")?;
        let resolved = prover()?
            .resolve(&conditional, &assumption.into_unknown())
            .step("resolve")?;
        encode(&resolved, "succinct receipt")
    })?;
    Ok(PyBytes::new(py, &out))
}

/// A receipt's assumptions (the receipts a composing guest verified) as succinct receipts, compressing composite
/// ones, in the order resolve needs them.
pub(crate) fn succinct_assumptions(
    prover: &dyn ProverServer,
    assumption_receipts: &[InnerAssumptionReceipt],
) -> NativeResult<Vec<SuccinctReceipt<Unknown>>> {
    assumption_receipts
        .iter()
        .map(|assumption| match assumption {
            InnerAssumptionReceipt::Succinct(s) => Ok(s.clone()),
            InnerAssumptionReceipt::Composite(c) => Ok(prover
                .composite_to_succinct(c)
                .step("compress an assumption")?
                .into_unknown()),
            _ => Err(NativeError::ProvingFailed(
                "an assumption is a dev-mode or Groth16 receipt, which cannot be resolved".into(),
            )),
        })
        .collect()
}

/// The segment receipts of a composite receipt (risc0-encoded), to lift and join elsewhere.
#[pyfunction]
pub fn segment_receipts<'py>(
    py: Python<'py>,
    receipt: &Receipt,
) -> NativeResult<Vec<Bound<'py, PyBytes>>> {
    let InnerReceipt::Composite(composite) = &receipt.inner.inner else {
        return Err(NativeError::ReceiptInvalid(format!(
            "a {} receipt has no segment receipts",
            receipt.kind()
        )));
    };
    composite
        .segments
        .iter()
        .map(|s| Ok(PyBytes::new(py, &encode(s, "segment receipt")?)))
        .collect()
}

/// A receipt from a succinct receipt (as `join`/`resolve` give it) and the journal it commits to.
#[pyfunction]
pub fn succinct_receipt(succinct: &[u8], journal: Vec<u8>) -> NativeResult<Receipt> {
    let inner: SuccinctReceipt<ReceiptClaim> = decode(succinct, "succinct receipt")?;
    Ok(Receipt {
        inner: risc0_zkvm::Receipt::new(InnerReceipt::Succinct(inner), journal),
    })
}

/// The claim digests of the assumptions a claim makes, in the order the guest made them (the order a composite
/// receipt lists their receipts and `resolve` takes them).
fn assumptions_of(claim: &ReceiptClaim) -> NativeResult<Vec<Digest>> {
    let pruned = || NativeError::ReceiptInvalid("a receipt's claim has pruned assumptions".into());
    let Some(output) = claim.output.as_value().map_err(|_| pruned())? else {
        return Ok(Vec::new());
    };
    if output.assumptions.is_empty() {
        return Ok(Vec::new());
    }
    output
        .assumptions
        .as_value()
        .map_err(|_| pruned())?
        .iter()
        .map(|a| Ok(a.as_value().map_err(|_| pruned())?.claim))
        .collect()
}

/// The given receipts in the order of the claim's assumptions: each assumption needs one receipt of its claim.
fn in_claim_order(
    claim: &ReceiptClaim,
    given: &[PyRef<'_, Receipt>],
) -> NativeResult<Vec<InnerAssumptionReceipt>> {
    let mut pool: Vec<(Digest, InnerAssumptionReceipt)> = given
        .iter()
        .map(|r| {
            let inner: InnerAssumptionReceipt = r.inner.inner.clone().into();
            let digest = inner.claim_digest().map_err(|e| {
                NativeError::ReceiptInvalid(format!("an assumption's claim is unreadable: {e}"))
            })?;
            Ok((digest, inner))
        })
        .collect::<NativeResult<_>>()?;
    assumptions_of(claim)?
        .into_iter()
        .map(|wanted| {
            let at = pool.iter().position(|(d, _)| *d == wanted).ok_or_else(|| {
                NativeError::ProvingFailed(format!(
                    "the guest assumed a receipt of claim {wanted}, but no assumption given has that claim"
                ))
            })?;
            Ok(pool.swap_remove(at).1)
        })
        .collect()
}

/// A composite receipt from segment receipts proven anywhere (in order), the receipts of the assumptions the guest
/// made (any order) and the journal; checked before it is returned.
#[pyfunction]
pub fn composite_receipt(
    py: Python<'_>,
    segment_receipts: Vec<Vec<u8>>,
    assumptions: Vec<PyRef<'_, Receipt>>,
    journal: Vec<u8>,
) -> NativeResult<Receipt> {
    let segments: Vec<SegmentReceipt> = py.detach(|| {
        segment_receipts
            .iter()
            .map(|s| decode(s, "segment receipt"))
            .collect::<NativeResult<_>>()
    })?;
    let last = segments
        .last()
        .ok_or_else(|| NativeError::InvalidInput("no segment receipts".into()))?;
    let assumption_receipts = in_claim_order(&last.claim, &assumptions)?;
    py.detach(|| {
        let ctx = VerifierContext::default();
        let verifier_parameters = ctx
            .composite_verifier_parameters()
            .ok_or_else(|| NativeError::ProvingFailed("no composite verifier parameters".into()))?
            .digest();
        // risc0's CompositeReceipt is non_exhaustive with no constructor; bincode encodes a struct as the
        // tuple of its fields, so the receipt is decoded from its parts.
        let composite: CompositeReceipt = decode(
            &encode(
                &(segments, assumption_receipts, verifier_parameters),
                "composite receipt",
            )?,
            "composite receipt",
        )?;
        composite.verify_integrity_with_context(&ctx).map_err(|e| {
            NativeError::ReceiptInvalid(format!("the assembled receipt does not verify: {e}"))
        })?;
        Ok(Receipt {
            inner: risc0_zkvm::Receipt::new(InnerReceipt::Composite(composite), journal),
        })
    })
}

/// Resolves every assumption of a conditional succinct receipt (as `join` gives it) with the given receipts,
/// compressing composite ones; the result stands alone.
#[pyfunction]
pub fn resolve_assumptions<'py>(
    py: Python<'py>,
    conditional: &[u8],
    assumptions: Vec<PyRef<'py, Receipt>>,
) -> NativeResult<Bound<'py, PyBytes>> {
    let conditional: SuccinctReceipt<ReceiptClaim> = decode(conditional, "succinct receipt")?;
    let claim = conditional
        .claim
        .as_value()
        .map_err(|_| {
            NativeError::ReceiptInvalid("the conditional receipt's claim is pruned".into())
        })?
        .clone();
    let ordered = in_claim_order(&claim, &assumptions)?;
    let out = py.detach(|| {
        let prover = prover()?;
        let mut resolved = conditional;
        for assumption in succinct_assumptions(prover.as_ref(), &ordered)? {
            resolved = prover.resolve(&resolved, &assumption).step("resolve")?;
        }
        encode(&resolved, "succinct receipt")
    })?;
    Ok(PyBytes::new(py, &out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(composite_receipt, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_assumptions, m)?)?;
    m.add_function(wrap_pyfunction!(check_recursion_programs, m)?)?;
    m.add_function(wrap_pyfunction!(prove_segment, m)?)?;
    m.add_function(wrap_pyfunction!(lift, m)?)?;
    m.add_function(wrap_pyfunction!(join, m)?)?;
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    m.add_function(wrap_pyfunction!(segment_receipts, m)?)?;
    m.add_function(wrap_pyfunction!(succinct_receipt, m)?)?;
    Ok(())
}
