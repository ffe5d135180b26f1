//! risc0's own encoding (bincode, fixed-size integers) of the values that cross process and machine boundaries:
//! segments, segment and succinct receipts, whole receipts.
use serde::{de::DeserializeOwned, Serialize};

use crate::errors::{catch_quietly, NativeError, NativeResult};

pub(crate) fn encode<T: Serialize>(value: &T, what: &'static str) -> NativeResult<Vec<u8>> {
    bincode::serialize(value).map_err(|source| NativeError::Encode { what, source })
}

/// Decodes risc0's encoding of `what`, refusing trailing bytes and catching the panics a hostile encoding can
/// cause in risc0's types.
pub(crate) fn decode<T: DeserializeOwned + Serialize>(
    data: &[u8],
    what: &'static str,
) -> NativeResult<T> {
    decode_exact(data).map_err(|reason| NativeError::Decode {
        what,
        len: data.len(),
        reason,
    })
}

/// bincode as risc0 writes it (fixed-size integers), but refusing trailing bytes, which bincode would ignore: bytes
/// that verify must be nothing but what was verified. Decoded from the slice, never through a reader: bincode's
/// reader path allocates whatever length a (hostile) prefix names, and a failed allocation aborts the process.
pub(crate) fn decode_exact<T: DeserializeOwned + Serialize>(data: &[u8]) -> Result<T, String> {
    use bincode::Options;
    let options = bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .allow_trailing_bytes();
    let value: T = catch_quietly(|| options.deserialize(data))?.map_err(|e| e.to_string())?;
    let used = options.serialized_size(&value).map_err(|e| e.to_string())?;
    match data.len() as u64 - used.min(data.len() as u64) {
        0 => Ok(value),
        1 => Err("1 trailing byte after it".into()),
        extra => Err(format!("{extra} trailing bytes after it")),
    }
}
