//! Native TLSNotary verification: the same `tlsn-verifier` crate and JSON request as the `tlsn-verify` wasm
//! activity, so both backends give byte-identical answers.
use pyo3::prelude::*;

use crate::errors::{panic_message, PresentationInvalid};

/// Verifies `{"presentation": "<base64>", "policy": {...}}`; returns the verified facts as JSON text.
#[pyfunction]
pub fn tlsn_verify(py: Python<'_>, request: &[u8]) -> PyResult<String> {
    py.detach(|| {
        std::panic::catch_unwind(|| tlsn_verifier::verify_request(request))
            .map_err(|panic| format!("internal: verifier panicked ({})", panic_message(&panic)))?
            .map_err(|e| e.to_string())
    })
    .map_err(PresentationInvalid::new_err)
}
