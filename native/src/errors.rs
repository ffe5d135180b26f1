//! Loom's Python exception classes (defined once, in `pipeline/errors.py`), raised from Rust.
use pyo3::import_exception;

import_exception!(pipeline.errors, GuestPanicked);
import_exception!(pipeline.errors, ExecutionFailed);
import_exception!(pipeline.errors, ProvingFailed);
import_exception!(pipeline.errors, ReceiptInvalid);
import_exception!(pipeline.errors, ImageIdMismatch);
import_exception!(pipeline.errors, InvalidInput);
import_exception!(pipeline.errors, PresentationInvalid);

/// The message of a caught panic, for the error that replaces it.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}
