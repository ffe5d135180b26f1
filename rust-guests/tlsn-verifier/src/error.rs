//! One error type: which check failed and why, in words a user can act on.

use alloc::string::String;
use core::fmt;

/// The stage of verification that rejected the presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The request around the presentation (JSON, base64, policy fields).
    Request,
    /// The bytes are not a well-formed presentation.
    Decode,
    /// Something valid in the format that Loom does not support (an algorithm, a version).
    Unsupported,
    /// The attestation body does not hash to the signed Merkle root.
    Attestation,
    /// The notary's signature over the header.
    Signature,
    /// A check the caller's policy asks for on top of TLSNotary's (trust, freshness, required proofs).
    Policy,
    /// The server identity proof: certificate commitment, chain, name, key-exchange signature.
    Identity,
    /// The transcript proof: openings of the committed plaintext.
    Transcript,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Request => "request",
            Stage::Decode => "decode",
            Stage::Unsupported => "unsupported",
            Stage::Attestation => "attestation",
            Stage::Signature => "signature",
            Stage::Policy => "policy",
            Stage::Identity => "identity",
            Stage::Transcript => "transcript",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub stage: Stage,
    pub message: String,
}

impl Error {
    pub fn new(stage: Stage, message: impl Into<String>) -> Self {
        Error {
            stage,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.stage.as_str(), self.message)
    }
}

pub type Result<T> = core::result::Result<T, Error>;

/// `fail!(Stage, "format", args)` returns early with that error.
macro_rules! fail {
    ($stage:ident, $($arg:tt)*) => {
        return Err($crate::error::Error::new($crate::error::Stage::$stage, alloc::format!($($arg)*)))
    };
}
pub(crate) use fail;
