//! RISC Zero from Python: execute, prove and verify guests, with receipts in risc0's own serialized form
//! (bincode of `risc0_zkvm::Receipt`), so that they interoperate with risc0's Rust verifier both ways.
//!
//! Dev mode is never taken from the environment (`RISC0_DEV_MODE`): callers ask for it explicitly when proving,
//! and verification refuses fake receipts unless explicitly allowed.
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use risc0_zkvm::sha::{Digest, Digestible};
pub(crate) use risc0_zkvm::Session;
use risc0_zkvm::{
    get_prover_server, ExecutorEnv, ExecutorImpl, ExitCode, InnerReceipt, ProverOpts, ReceiptKind,
    Segment, SessionEvents, VerifierContext,
};

use crate::errors::{catch_quietly, NativeError, NativeResult};
use crate::image::program_binary;
use crate::recursion::proving;

/// What one execution of a guest did: its public output and what proving it will cost.
#[pyclass(frozen, get_all, module = "pipeline._native")]
pub struct ExecutionInfo {
    journal: Py<PyBytes>,
    exit_code: String,
    segments: usize,
    total_cycles: u64,
    user_cycles: u64,
    paging_cycles: u64,
    reserved_cycles: u64,
}

#[pymethods]
impl ExecutionInfo {
    fn __repr__(&self) -> String {
        format!(
            "ExecutionInfo(exit_code={:?}, segments={}, total_cycles={}, user_cycles={})",
            self.exit_code, self.segments, self.total_cycles, self.user_cycles
        )
    }
}

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
            let ctx = VerifierContext::default().with_dev_mode(allow_dev_mode);
            // risc0's verifier can panic on a malformed seal (e.g. an out-of-range index): that is a rejection.
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
            .detach(|| crate::recursion::decode_exact::<risc0_zkvm::Receipt>(data))
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

/// A receipt with the statistics of the session that produced it.
#[pyclass(frozen, get_all, module = "pipeline._native")]
pub struct ProveInfo {
    receipt: Py<Receipt>,
    stats: Py<ExecutionInfo>,
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

fn exit_code_name(code: &ExitCode) -> String {
    match code {
        ExitCode::Halted(c) => format!("halted({c})"),
        ExitCode::Paused(c) => format!("paused({c})"),
        ExitCode::SystemSplit => "system_split".into(),
        ExitCode::SessionLimit => "session_limit".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Runs the guest to completion (no proof). Errors become typed exceptions with the guest's own words.
fn run_session(
    elf: &[u8],
    input: &[u8],
    segment_limit_po2: Option<u32>,
    max_cycles: Option<u64>,
    assumptions: &[risc0_zkvm::Receipt],
) -> NativeResult<Session> {
    let binary = program_binary(elf)?;
    let mut builder = ExecutorEnv::builder();
    builder.write_slice(input).session_limit(max_cycles);
    for assumption in assumptions {
        builder.add_assumption(assumption.clone());
    }
    if let Some(po2) = segment_limit_po2 {
        builder.segment_limit_po2(po2);
    }
    let env = builder
        .build()
        .map_err(|e| NativeError::InvalidInput(format!("executor environment: {e}")))?;
    let session = ExecutorImpl::from_elf(env, &binary)
        .map_err(|e| NativeError::InvalidInput(format!("cannot load guest: {e:#}")))?
        .run()
        .map_err(|e| {
            let msg = format!("{e:#}");
            match msg.rsplit_once("Guest panicked: ") {
                // the chain repeats it: keep the innermost
                Some((_, guest_msg)) => NativeError::GuestPanicked(guest_msg.to_string()),
                None => NativeError::ExecutionFailed(msg),
            }
        })?;
    match session.exit_code {
        ExitCode::Halted(0) => Ok(session),
        other => Err(NativeError::ExecutionFailed(format!(
            "guest exited with {}",
            exit_code_name(&other)
        ))),
    }
}

/// The facts of a finished session, gathered while the GIL is released (a `Session` cannot cross threads).
struct Summary {
    journal: Vec<u8>,
    exit_code: String,
    stats: risc0_zkvm::SessionStats,
}

impl Summary {
    fn of(session: &Session) -> Self {
        Self {
            journal: session
                .journal
                .as_ref()
                .map(|j| j.bytes.clone())
                .unwrap_or_default(),
            exit_code: exit_code_name(&session.exit_code),
            stats: session.stats(),
        }
    }

    fn into_info(self, py: Python<'_>) -> ExecutionInfo {
        ExecutionInfo {
            journal: PyBytes::new(py, &self.journal).unbind(),
            exit_code: self.exit_code,
            segments: self.stats.segments,
            total_cycles: self.stats.total_cycles,
            user_cycles: self.stats.user_cycles,
            paging_cycles: self.stats.paging_cycles,
            reserved_cycles: self.stats.reserved_cycles,
        }
    }
}

/// Executes a guest on `input` (raw bytes on its stdin) without proving.
#[pyfunction]
#[pyo3(signature = (elf, input, *, segment_limit_po2 = None, max_cycles = None))]
pub fn execute(
    py: Python<'_>,
    elf: &[u8],
    input: &[u8],
    segment_limit_po2: Option<u32>,
    max_cycles: Option<u64>,
) -> NativeResult<ExecutionInfo> {
    let summary = py.detach(|| {
        run_session(elf, input, segment_limit_po2, max_cycles, &[]).map(|s| Summary::of(&s))
    })?;
    Ok(summary.into_info(py))
}

/// Reports proving progress to a Python callable as `progress(phase, done, total)`.
struct Progress {
    callback: Py<PyAny>,
    done: AtomicUsize,
    total: usize,
}

impl Progress {
    fn report(callback: &Py<PyAny>, phase: &str, done: usize, total: usize) {
        Python::attach(|py| {
            if let Err(err) = callback.call1(py, (phase, done, total)) {
                err.write_unraisable(py, None);
            }
        });
    }
}

impl SessionEvents for Progress {
    fn on_post_prove_segment(&self, _segment: &Segment) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        Self::report(&self.callback, "segment", done, self.total);
    }
}

/// How to prove a guest, as one value like risc0's `ProverOpts`: checked once when made (an unknown kind is
/// `InvalidInput`), so `prove` takes it whole instead of loose arguments.
#[pyclass(frozen, module = "pipeline._native")]
#[derive(Clone, Copy)]
pub struct ProverOptions {
    kind: ReceiptKind,
    #[pyo3(get)]
    segment_limit_po2: Option<u32>,
    #[pyo3(get)]
    max_cycles: Option<u64>,
    #[pyo3(get)]
    dev_mode: bool,
}

#[pymethods]
impl ProverOptions {
    #[new]
    #[pyo3(signature = (*, kind = "composite", segment_limit_po2 = None, max_cycles = None, dev_mode = false))]
    fn new(
        kind: &str,
        segment_limit_po2: Option<u32>,
        max_cycles: Option<u64>,
        dev_mode: bool,
    ) -> NativeResult<Self> {
        let kind = match kind {
            "composite" => ReceiptKind::Composite,
            "succinct" => ReceiptKind::Succinct,
            other => {
                return Err(NativeError::InvalidInput(format!(
                    "receipt kind must be 'composite' or 'succinct', got {other:?}"
                )))
            }
        };
        Ok(Self {
            kind,
            segment_limit_po2,
            max_cycles,
            dev_mode,
        })
    }

    /// "composite" (one seal per segment) or "succinct" (segments lifted, joined and assumptions resolved into one
    /// constant-size seal).
    #[getter]
    fn kind(&self) -> &'static str {
        match self.kind {
            ReceiptKind::Succinct => "succinct",
            _ => "composite",
        }
    }

    fn __repr__(&self) -> String {
        let none = || "None".to_string();
        format!(
            "ProverOptions(kind='{}', segment_limit_po2={}, max_cycles={}, dev_mode={})",
            self.kind(),
            self.segment_limit_po2.map_or_else(none, |p| p.to_string()),
            self.max_cycles.map_or_else(none, |c| c.to_string()),
            if self.dev_mode { "True" } else { "False" }
        )
    }
}

/// Proves a guest on `input` as `options` say, with progress reported per phase ("segment", then for succinct
/// receipts "lift", "join", "resolve"). `assumptions` are receipts of what the guest verifies with `env::verify`.
/// Dev mode makes a fake receipt instantly: labelled "fake", refused by `verify` unless allowed.
#[pyfunction]
#[pyo3(signature = (elf, input, options, *, progress = None, assumptions = vec![]))]
pub fn prove(
    py: Python<'_>,
    elf: &[u8],
    input: &[u8],
    options: &ProverOptions,
    progress: Option<Py<PyAny>>,
    assumptions: Vec<PyRef<'_, Receipt>>,
) -> PyResult<ProveInfo> {
    let ProverOptions {
        kind,
        segment_limit_po2,
        max_cycles,
        dev_mode,
    } = *options;
    let assumptions: Vec<risc0_zkvm::Receipt> =
        assumptions.iter().map(|r| r.inner.clone()).collect();
    let report = |phase: &str, done: usize, total: usize| {
        if let Some(callback) = &progress {
            Progress::report(callback, phase, done, total);
        }
    };
    let (summary, receipt) = py.detach(|| -> NativeResult<_> {
        let mut session = run_session(elf, input, segment_limit_po2, max_cycles, &assumptions)?;
        if let Some(callback) = &progress {
            let total = session.segments.len();
            Progress::report(callback, "segment", 0, total);
            let callback = Python::attach(|py| callback.clone_ref(py));
            session.add_hook(Progress {
                callback,
                done: AtomicUsize::new(0),
                total,
            });
        }
        let opts = ProverOpts::default()
            .with_receipt_kind(ReceiptKind::Composite)
            .with_dev_mode(dev_mode);
        let ctx = VerifierContext::default().with_dev_mode(dev_mode);
        let prover =
            get_prover_server(&opts).map_err(|e| NativeError::ProvingFailed(format!("{e:#}")))?;
        let receipt = prover
            .prove_session(&ctx, &session)
            .map_err(|e| NativeError::ProvingFailed(format!("{e:#}")))?
            .receipt;
        let receipt = match (&receipt.inner, kind == ReceiptKind::Succinct && !dev_mode) {
            (InnerReceipt::Composite(composite), true) => {
                let inner = compress(prover.as_ref(), composite, &report)?;
                risc0_zkvm::Receipt::new(
                    InnerReceipt::Succinct(inner),
                    receipt.journal.bytes.clone(),
                )
            }
            _ => receipt,
        };
        Ok((Summary::of(&session), receipt))
    })?;
    Ok(ProveInfo {
        receipt: Py::new(py, Receipt { inner: receipt })?,
        stats: Py::new(py, summary.into_info(py))?,
    })
}

/// A composite receipt as one succinct receipt: lift every segment, join neighbours pairwise (a tree of depth
/// log2(segments), the same plan a cluster follows), then resolve each assumption.
fn compress(
    prover: &dyn risc0_zkvm::ProverServer,
    composite: &risc0_zkvm::CompositeReceipt,
    report: &dyn Fn(&str, usize, usize),
) -> NativeResult<risc0_zkvm::SuccinctReceipt<risc0_zkvm::ReceiptClaim>> {
    let segments = composite.segments.len();
    report("lift", 0, segments);
    let mut level = Vec::with_capacity(segments);
    for (i, segment) in composite.segments.iter().enumerate() {
        level.push(proving("lift", prover.lift(segment))?);
        report("lift", i + 1, segments);
    }
    let joins = segments.saturating_sub(1);
    let mut joined = 0;
    report("join", 0, joins);
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        let mut pairs = level.into_iter();
        while let Some(left) = pairs.next() {
            match pairs.next() {
                Some(right) => {
                    next.push(proving("join", prover.join(&left, &right))?);
                    joined += 1;
                    report("join", joined, joins);
                }
                None => next.push(left),
            }
        }
        level = next;
    }
    let mut receipt = level
        .pop()
        .ok_or_else(|| NativeError::ProvingFailed("a composite receipt without segments".into()))?;
    let assumptions =
        crate::recursion::succinct_assumptions(prover, &composite.assumption_receipts)?;
    for (i, assumption) in assumptions.iter().enumerate() {
        report("resolve", i, assumptions.len());
        receipt = proving("resolve", prover.resolve(&receipt, assumption))?;
    }
    if !assumptions.is_empty() {
        report("resolve", assumptions.len(), assumptions.len());
    }
    Ok(receipt)
}

/// Executes a guest into its segments without proving them: the execution's facts and each segment in risc0's
/// encoding, for `prove_segment` anywhere.
#[pyfunction]
#[pyo3(signature = (elf, input, *, segment_limit_po2 = None, max_cycles = None, assumptions = vec![]))]
pub fn execute_segments<'py>(
    py: Python<'py>,
    elf: &[u8],
    input: &[u8],
    segment_limit_po2: Option<u32>,
    max_cycles: Option<u64>,
    assumptions: Vec<PyRef<'py, Receipt>>,
) -> NativeResult<(ExecutionInfo, Vec<Bound<'py, PyBytes>>)> {
    let assumptions: Vec<risc0_zkvm::Receipt> =
        assumptions.iter().map(|r| r.inner.clone()).collect();
    let (summary, segments) = py.detach(|| -> NativeResult<_> {
        let session = run_session(elf, input, segment_limit_po2, max_cycles, &assumptions)?;
        Ok((
            Summary::of(&session),
            crate::recursion::segments_of(&session)?,
        ))
    })?;
    Ok((
        summary.into_info(py),
        segments.iter().map(|s| PyBytes::new(py, s)).collect(),
    ))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Receipt>()?;
    m.add_class::<ExecutionInfo>()?;
    m.add_class::<ProveInfo>()?;
    m.add_class::<ProverOptions>()?;
    m.add_function(wrap_pyfunction!(execute, m)?)?;
    m.add_function(wrap_pyfunction!(prove, m)?)?;
    m.add_function(wrap_pyfunction!(execute_segments, m)?)?;
    Ok(())
}
