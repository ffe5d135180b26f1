//! RISC Zero's recursion, in parts: execute a guest into segments, prove one segment, lift a segment receipt,
//! join two succinct receipts, resolve an assumption, and wrap the result as a receipt. Every part takes and
//! gives bytes in risc0's own encoding (bincode), so the parts can run in different processes or machines; each
//! releases the GIL.
//!
//! The recursion programs come from risc0-circuit-recursion-control-zkrs (scripts/patch-risc0.sh);
//! `check_recursion_programs` compares each one's control ID with the ID risc0 lists for it.
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use risc0_circuit_recursion::control_id::POSEIDON2_CONTROL_IDS;
use risc0_zkp::core::hash::poseidon2::Poseidon2HashSuite;
use risc0_zkvm::{
    get_prover_server, CompositeReceipt, InnerAssumptionReceipt, InnerReceipt, ProverOpts,
    ProverServer, ReceiptClaim, Segment, SegmentReceipt, SuccinctReceipt, Unknown, VerifierContext,
    RECURSION_PO2,
};
use serde::{de::DeserializeOwned, Serialize};

use crate::errors::{NativeError, NativeResult};
use crate::zk::{Receipt, Session};

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

pub(crate) fn encode<T: Serialize>(value: &T, what: &str) -> NativeResult<Vec<u8>> {
    bincode::serialize(value)
        .map_err(|e| NativeError::ProvingFailed(format!("cannot encode {what}: {e}")))
}

/// Decodes risc0's encoding of `what`, refusing trailing bytes (bincode would ignore them) and catching the
/// panics a hostile encoding can cause in risc0's types.
pub(crate) fn decode<T: DeserializeOwned + Serialize>(data: &[u8], what: &str) -> NativeResult<T> {
    decode_exact(data).map_err(|e| {
        NativeError::InvalidInput(format!("not a risc0 {what} ({} bytes): {e}", data.len()))
    })
}

/// bincode as risc0 writes it (fixed-size integers), but refusing trailing bytes, which bincode would ignore: bytes
/// that verify must be nothing but what was verified. Decoded from the slice, never through a reader: bincode's
/// reader path allocates whatever length a (hostile) prefix names, and a failed allocation aborts the process.
pub(crate) fn decode_exact<T: DeserializeOwned + Serialize>(data: &[u8]) -> Result<T, String> {
    use bincode::Options;
    let options = bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .allow_trailing_bytes();
    let value: T = std::panic::catch_unwind(|| options.deserialize(data))
        .map_err(|panic| crate::errors::panic_message(&panic))?
        .map_err(|e| e.to_string())?;
    let used = options.serialized_size(&value).map_err(|e| e.to_string())?;
    match data.len() as u64 - used.min(data.len() as u64) {
        0 => Ok(value),
        1 => Err("1 trailing byte after it".into()),
        extra => Err(format!("{extra} trailing bytes after it")),
    }
}

pub(crate) fn prover() -> NativeResult<std::rc::Rc<dyn ProverServer>> {
    get_prover_server(&ProverOpts::default())
        .map_err(|e| NativeError::ProvingFailed(format!("{e:#}")))
}

/// A prover's failure as `ProvingFailed`, naming the step that failed.
pub(crate) fn proving<T>(what: &str, result: anyhow::Result<T>) -> NativeResult<T> {
    result.map_err(|e| NativeError::ProvingFailed(format!("{what}: {e:#}")))
}

/// The segments of an execution, each in risc0's encoding, in order.
pub(crate) fn segments_of(session: &Session) -> NativeResult<Vec<Vec<u8>>> {
    session
        .segments
        .iter()
        .map(|r| {
            let segment = proving("segment", r.resolve())?;
            encode(&segment, "segment")
        })
        .collect()
}

/// Proves one segment (risc0-encoded `Segment`); returns its `SegmentReceipt`.
#[pyfunction]
pub fn prove_segment<'py>(py: Python<'py>, segment: &[u8]) -> NativeResult<Bound<'py, PyBytes>> {
    let out = py.detach(|| {
        let segment: Segment = decode(segment, "segment")?;
        let mut receipts = proving(
            "prove segment",
            prover()?.prove_segment(&VerifierContext::default(), &segment),
        )?;
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
        encode(
            &proving("lift", prover()?.lift(&receipt))?,
            "succinct receipt",
        )
    })?;
    Ok(PyBytes::new(py, &out))
}

/// Joins two succinct receipts of consecutive parts of one execution (`a` first) into one.
#[pyfunction]
pub fn join<'py>(py: Python<'py>, a: &[u8], b: &[u8]) -> NativeResult<Bound<'py, PyBytes>> {
    let out = py.detach(|| {
        let a: SuccinctReceipt<ReceiptClaim> = decode(a, "succinct receipt")?;
        let b: SuccinctReceipt<ReceiptClaim> = decode(b, "succinct receipt")?;
        encode(
            &proving("join", prover()?.join(&a, &b))?,
            "succinct receipt",
        )
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
        encode(
            &proving(
                "resolve",
                prover()?.resolve(&conditional, &assumption.into_unknown()),
            )?,
            "succinct receipt",
        )
    })?;
    Ok(PyBytes::new(py, &out))
}

/// A receipt's assumptions (the receipts a composing guest verified) as succinct receipts, compressing composite
/// ones, in the order resolve needs them.
pub(crate) fn succinct_assumptions(
    prover: &dyn ProverServer,
    composite: &CompositeReceipt,
) -> NativeResult<Vec<SuccinctReceipt<Unknown>>> {
    composite
        .assumption_receipts
        .iter()
        .map(|assumption| match assumption {
            InnerAssumptionReceipt::Succinct(s) => Ok(s.clone()),
            InnerAssumptionReceipt::Composite(c) => Ok(proving(
                "compress an assumption",
                prover.composite_to_succinct(c),
            )?
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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(check_recursion_programs, m)?)?;
    m.add_function(wrap_pyfunction!(prove_segment, m)?)?;
    m.add_function(wrap_pyfunction!(lift, m)?)?;
    m.add_function(wrap_pyfunction!(join, m)?)?;
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    m.add_function(wrap_pyfunction!(segment_receipts, m)?)?;
    m.add_function(wrap_pyfunction!(succinct_receipt, m)?)?;
    Ok(())
}
