//! Native TLSNotary verification: the same `tlsn-verifier` crate and JSON request as the `tlsn-verify` wasm
//! activity, so both backends give byte-identical answers.
use pyo3::prelude::*;

use crate::errors::{catch_quietly, NativeError, NativeResult};

/// Verifies `{"presentation": "<base64>", "policy": {...}}`; returns the verified facts as JSON text.
#[pyfunction]
pub fn tlsn_verify(py: Python<'_>, request: &[u8]) -> NativeResult<String> {
    py.detach(|| {
        let verified =
            catch_quietly(|| tlsn_verifier::verify_request(request)).map_err(|panic| {
                NativeError::PresentationInvalid {
                    message: format!("internal: verifier panicked ({panic})"),
                    stage: "internal",
                }
            })?;
        Ok(verified?)
    })
}
