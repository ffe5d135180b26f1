//! Executing and proving guests: a run to completion (no proof), a composite proof with its progress per segment,
//! or the segments of an execution for proving elsewhere. Succinct receipts are made from composite ones by the
//! recursion parts (`crate::recursion`), driven from Python the same way here and on a cluster.
//!
//! Dev mode is never taken from the environment (`RISC0_DEV_MODE`): callers ask for it explicitly when proving.
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
pub(crate) use risc0_zkvm::Session;
use risc0_zkvm::{
    get_prover_server, ExecutorEnv, ExecutorImpl, ExitCode, ProverOpts, ReceiptKind, Segment,
    SessionEvents, VerifierContext,
};

use crate::errors::{NativeError, NativeResult, Step};
use crate::image::program_binary;
use crate::receipt::Receipt;

/// The phase the native prover reports: segments proven (lifts, joins and resolves are reported by their driver).
const SEGMENT_PHASE: &str = "segment";

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

/// A receipt with the statistics of the session that produced it.
#[pyclass(frozen, get_all, module = "pipeline._native")]
pub struct ProveInfo {
    receipt: Py<Receipt>,
    stats: Py<ExecutionInfo>,
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
    // The guest's stdout and stderr are untrusted text and not its output (the journal is): dropped, never copied
    // raw to the terminal. Its panic message still reaches the error, which Loom shows escaped.
    builder
        .write_slice(input)
        .session_limit(max_cycles)
        .stdout(std::io::sink())
        .stderr(std::io::sink());
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

/// Reports proving progress to a Python callable as `progress("segment", done, total)`.
struct Progress {
    callback: Py<PyAny>,
    done: AtomicUsize,
    total: usize,
}

impl Progress {
    fn report(callback: &Py<PyAny>, done: usize, total: usize) {
        Python::attach(|py| {
            if let Err(err) = callback.call1(py, (SEGMENT_PHASE, done, total)) {
                err.write_unraisable(py, None);
            }
        });
    }
}

impl SessionEvents for Progress {
    fn on_post_prove_segment(&self, _segment: &Segment) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        Self::report(&self.callback, done, self.total);
    }
}

/// How to prove a guest, as one value like risc0's `ProverOpts`, so `prove` takes it whole instead of loose
/// arguments. The receipt is always composite: a succinct one is made from it by the recursion parts.
#[pyclass(frozen, module = "pipeline._native")]
#[derive(Clone, Copy)]
pub struct ProverOptions {
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
    #[pyo3(signature = (*, segment_limit_po2 = None, max_cycles = None, dev_mode = false))]
    fn new(segment_limit_po2: Option<u32>, max_cycles: Option<u64>, dev_mode: bool) -> Self {
        Self {
            segment_limit_po2,
            max_cycles,
            dev_mode,
        }
    }

    fn __repr__(&self) -> String {
        let none = || "None".to_string();
        format!(
            "ProverOptions(segment_limit_po2={}, max_cycles={}, dev_mode={})",
            self.segment_limit_po2.map_or_else(none, |p| p.to_string()),
            self.max_cycles.map_or_else(none, |c| c.to_string()),
            if self.dev_mode { "True" } else { "False" }
        )
    }
}

/// Proves a guest on `input` as `options` say into a composite receipt, with progress reported per segment
/// (`progress("segment", done, total)`). `assumptions` are receipts of what the guest verifies with `env::verify`.
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
        segment_limit_po2,
        max_cycles,
        dev_mode,
    } = *options;
    let assumptions: Vec<risc0_zkvm::Receipt> =
        assumptions.iter().map(|r| r.inner.clone()).collect();
    let (summary, receipt) = py.detach(|| -> NativeResult<_> {
        let mut session = run_session(elf, input, segment_limit_po2, max_cycles, &assumptions)?;
        if let Some(callback) = &progress {
            let total = session.segments.len();
            Progress::report(callback, 0, total);
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
        let prover = get_prover_server(&opts).step("start the prover")?;
        let receipt = prover.prove_session(&ctx, &session).step("prove")?.receipt;
        Ok((Summary::of(&session), receipt))
    })?;
    Ok(ProveInfo {
        receipt: Py::new(py, Receipt { inner: receipt })?,
        stats: Py::new(py, summary.into_info(py))?,
    })
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
    m.add_class::<ExecutionInfo>()?;
    m.add_class::<ProveInfo>()?;
    m.add_class::<ProverOptions>()?;
    m.add_function(wrap_pyfunction!(execute, m)?)?;
    m.add_function(wrap_pyfunction!(prove, m)?)?;
    m.add_function(wrap_pyfunction!(execute_segments, m)?)?;
    Ok(())
}
