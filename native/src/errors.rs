//! Loom's Python exception classes (defined once, in `pipeline/errors.py`), raised from Rust.
//!
//! Native code returns [`NativeError`], whose variants keep the error they came from (risc0's, bincode's, the
//! verifier's) so that `?` converts, and whose `Display` is the one place a message is worded; its `From` impl
//! below is the only place a Python exception is made, so each class is chosen in one place.
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::import_exception;
use pyo3::PyErr;

import_exception!(pipeline.errors, GuestPanicked);
import_exception!(pipeline.errors, ExecutionFailed);
import_exception!(pipeline.errors, ProvingFailed);
import_exception!(pipeline.errors, ReceiptInvalid);
import_exception!(pipeline.errors, ImageIdMismatch);
import_exception!(pipeline.errors, InvalidInput);
import_exception!(pipeline.errors, PresentationInvalid);

/// A failure of native code, one variant per kind of failure, each becoming one Python exception class.
#[derive(Debug)]
pub(crate) enum NativeError {
    GuestPanicked(String),
    ExecutionFailed(String),
    /// A step of risc0's prover failed (`step` names it: "lift", "join", "prove segment"...).
    Proving {
        step: &'static str,
        source: anyhow::Error,
    },
    ProvingFailed(String),
    /// Bytes that are not the risc0 value they were given as (`what`: "segment", "succinct receipt"...).
    Decode {
        what: &'static str,
        len: usize,
        reason: String,
    },
    /// A risc0 value that bincode could not write.
    Encode {
        what: &'static str,
        source: bincode::Error,
    },
    ReceiptInvalid(String),
    ImageIdMismatch(String),
    InvalidInput(String),
    /// A rejected TLSNotary presentation. `stage` is passed as data, so Python need not parse it from the
    /// message: a `tlsn_verifier::Stage` name, or "internal" for a caught panic.
    PresentationInvalid {
        message: String,
        stage: &'static str,
    },
}

pub(crate) type NativeResult<T> = Result<T, NativeError>;

impl fmt::Display for NativeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NativeError::GuestPanicked(m)
            | NativeError::ExecutionFailed(m)
            | NativeError::ProvingFailed(m)
            | NativeError::ReceiptInvalid(m)
            | NativeError::ImageIdMismatch(m)
            | NativeError::InvalidInput(m)
            | NativeError::PresentationInvalid { message: m, .. } => f.write_str(m),
            NativeError::Proving { step, source } => write!(f, "{step}: {source:#}"),
            NativeError::Decode { what, len, reason } => {
                write!(f, "not a risc0 {what} ({len} bytes): {reason}")
            }
            NativeError::Encode { what, source } => write!(f, "cannot encode {what}: {source}"),
        }
    }
}

impl From<NativeError> for PyErr {
    fn from(error: NativeError) -> Self {
        let message = error.to_string();
        match error {
            NativeError::GuestPanicked(_) => GuestPanicked::new_err(message),
            NativeError::ExecutionFailed(_) => ExecutionFailed::new_err(message),
            NativeError::Proving { .. }
            | NativeError::ProvingFailed(_)
            | NativeError::Encode { .. } => ProvingFailed::new_err(message),
            NativeError::ReceiptInvalid(_) => ReceiptInvalid::new_err(message),
            NativeError::ImageIdMismatch(_) => ImageIdMismatch::new_err(message),
            NativeError::InvalidInput(_) | NativeError::Decode { .. } => {
                InvalidInput::new_err(message)
            }
            NativeError::PresentationInvalid { stage, .. } => {
                PresentationInvalid::new_err((message, stage))
            }
        }
    }
}

impl From<tlsn_verifier::Error> for NativeError {
    fn from(error: tlsn_verifier::Error) -> Self {
        NativeError::PresentationInvalid {
            message: error.to_string(),
            stage: error.stage.as_str(),
        }
    }
}

/// Names the prover step a risc0 result came from, so `?` turns its error into [`NativeError::Proving`].
pub(crate) trait Step<T> {
    fn step(self, step: &'static str) -> NativeResult<T>;
}

impl<T> Step<T> for anyhow::Result<T> {
    fn step(self, step: &'static str) -> NativeResult<T> {
        self.map_err(|source| NativeError::Proving { step, source })
    }
}

/// Quiet sections now running, on any thread: a panic inside one is a refusal of hostile input that its caller
/// reports as an error, so the default hook must not also print it (with a source path) on stderr. A count, not a
/// thread-local flag: risc0 may panic on a worker thread of its own while the caller waits.
static QUIET: AtomicUsize = AtomicUsize::new(0);

/// Installs the hook that keeps caught panics quiet (`catch_quietly`); every other panic prints as before.
pub(crate) fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if QUIET.load(Ordering::SeqCst) == 0 {
            default(info)
        }
    }));
}

/// Runs `f`; a panic becomes `Err` with its message, printed nowhere.
pub(crate) fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    QUIET.fetch_add(1, Ordering::SeqCst);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.fetch_sub(1, Ordering::SeqCst);
    result.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}
