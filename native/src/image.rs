//! Guest programs and their image IDs.
//!
//! A guest is built as a plain user ELF; risc0 5.x runs it on top of the v1compat kernel, so the program the
//! prover sees (and the image ID commits to) is the user ELF combined with that kernel.
use pyo3::prelude::*;
use risc0_binfmt::ProgramBinary;
use risc0_zkos_v1compat::V1COMPAT_ELF;

use crate::errors::{NativeError, NativeResult};

const ELF_MAGIC: &[u8] = b"\x7fELF";

/// The program binary the prover runs: a user ELF combined with the v1compat kernel, or an
/// already-combined binary passed through unchanged.
pub fn program_binary(elf: &[u8]) -> NativeResult<Vec<u8>> {
    if elf.starts_with(ELF_MAGIC) {
        return Ok(ProgramBinary::new(elf, V1COMPAT_ELF).encode());
    }
    ProgramBinary::decode(elf).map_err(|e| {
        NativeError::InvalidInput(format!(
            "not a RISC Zero guest (neither an ELF nor a combined program binary): {e}"
        ))
    })?;
    Ok(elf.to_vec())
}

/// The image ID (hex) of a guest ELF: what a receipt's claim must name to verify.
#[pyfunction]
pub fn image_id(py: Python<'_>, elf: &[u8]) -> NativeResult<String> {
    let binary = program_binary(elf)?;
    py.detach(move || {
        ProgramBinary::decode(&binary)
            .and_then(|b| b.compute_image_id())
            .map(|d| hex::encode(d.as_bytes()))
            .map_err(|e| NativeError::InvalidInput(format!("cannot compute image ID: {e}")))
    })
}
