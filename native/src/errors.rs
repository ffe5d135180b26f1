//! Loom's Python exception classes (defined once, in `pipeline/errors.py`), raised from Rust.
use pyo3::import_exception;

import_exception!(pipeline.errors, GuestPanicked);
import_exception!(pipeline.errors, ExecutionFailed);
import_exception!(pipeline.errors, ProvingFailed);
import_exception!(pipeline.errors, ReceiptInvalid);
import_exception!(pipeline.errors, ImageIdMismatch);
import_exception!(pipeline.errors, InvalidInput);
