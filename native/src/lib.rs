//! `pipeline._native`: Loom's compiled core. RISC Zero execution, proving and receipt verification, the
//! TLSNotary presentation verifier and a fast strict-JSON check live here,
//! with the GIL released during heavy work; Python-facing types and errors are declared in `pipeline/_native.pyi`
//! and `pipeline/errors.py`.
use pyo3::prelude::*;

mod codec;
mod errors;
mod image;
mod json;
mod prove;
mod receipt;
mod recursion;
mod tlsn;

/// Facts about this build, so callers can tell the real compiled module from anything else.
#[pyfunction]
fn build_info() -> std::collections::BTreeMap<&'static str, &'static str> {
    std::collections::BTreeMap::from([
        ("loom_native", env!("CARGO_PKG_VERSION")),
        ("risc0_zkvm", risc0_zkvm::VERSION),
        ("risc0_circuit", receipt::CIRCUIT),
        (
            "profile",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        ),
        ("target", std::env::consts::ARCH),
        // "x86-64" runs on any x86-64 machine; "native" only on CPUs like the one that built it.
        ("target_cpu", env!("LOOM_TARGET_CPU")),
        ("kernels_march", env!("LOOM_KERNELS_MARCH")),
    ])
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::install_panic_hook();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    m.add_function(wrap_pyfunction!(image::image_id, m)?)?;
    m.add_function(wrap_pyfunction!(json::json_valid, m)?)?;
    receipt::register(m)?;
    prove::register(m)?;
    recursion::register(m)?;
    m.add_function(wrap_pyfunction!(tlsn::tlsn_verify, m)?)?;
    Ok(())
}
