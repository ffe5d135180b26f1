//! Loom's Python exception classes (defined once, in `pipeline/errors.py`), raised from Rust.
//!
//! Native code returns [`NativeError`]; its one `From` impl below is the only place a Python exception is made,
//! so each class and its arguments are chosen in one place.
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

/// A failure of native code, one variant per Python exception class it becomes, with that exception's message.
#[derive(Debug)]
pub(crate) enum NativeError {
    GuestPanicked(String),
    ExecutionFailed(String),
    ProvingFailed(String),
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

impl From<NativeError> for PyErr {
    fn from(error: NativeError) -> Self {
        match error {
            NativeError::GuestPanicked(message) => GuestPanicked::new_err(message),
            NativeError::ExecutionFailed(message) => ExecutionFailed::new_err(message),
            NativeError::ProvingFailed(message) => ProvingFailed::new_err(message),
            NativeError::ReceiptInvalid(message) => ReceiptInvalid::new_err(message),
            NativeError::ImageIdMismatch(message) => ImageIdMismatch::new_err(message),
            NativeError::InvalidInput(message) => InvalidInput::new_err(message),
            NativeError::PresentationInvalid { message, stage } => {
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
    result.map_err(|panic| panic_message(&panic))
}

/// The message of a caught panic, for the error that replaces it.
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}
