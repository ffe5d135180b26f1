"""Loom's exceptions: one hierarchy, so callers can catch ``LoomError`` or exactly the failure they handle.

``retryable`` tells the runner whether trying again can help: deterministic failures (a trap, an invalid proof,
a denied capability) never retry.
"""

from __future__ import annotations


class LoomError(Exception):
    """Base of every error Loom raises on purpose."""

    retryable: bool = False


class InvalidInput(LoomError, ValueError):
    """The input document is not what the activity or guest accepts (encoding, size, JSON syntax)."""


class BlobNotFound(LoomError, KeyError):
    """No blob with that digest is in the store."""


class BlobCorrupted(LoomError):
    """A stored blob's bytes no longer hash to its digest; it is never executed."""


# --- WebAssembly activities ------------------------------------------------------------------------------------


class ActivityNotFound(LoomError, LookupError):
    """No registered activity matches that name (and version)."""


class InvalidModule(LoomError):
    """The blob is not a WebAssembly module Loom can run (not wasm, wrong ABI, wrong runtime)."""


class InvalidOutput(LoomError):
    """The activity returned something that is not a JSON document."""


class ActivityTimeout(LoomError):
    """The activity ran out of fuel or past its wall-clock deadline and was interrupted."""

    retryable = True


class ActivityOutOfMemory(LoomError):
    """The activity tried to grow its memory past its limit."""


class ActivityTrapped(LoomError):
    """The activity trapped (unreachable, out-of-bounds, abort); carries the wasm frames when known."""

    def __init__(self, message: str, frames: list[str] | None = None) -> None:
        super().__init__(message)
        self.frames = frames or []


class ActivityRejected(LoomError):
    """The activity examined its input and refused it, saying why (``loom.fail``): deterministic, never retried."""


class CapabilityDenied(LoomError, PermissionError):
    """The activity asked for a host function or secret its definition does not grant."""


# --- RISC Zero ------------------------------------------------------------------------------------------------


class GuestPanicked(LoomError):
    """The zkVM guest panicked; the message is the guest's own."""


class ExecutionFailed(LoomError):
    """The guest did not halt cleanly (non-zero exit, cycle limit, fault) for a reason other than a panic."""


class ProvingFailed(LoomError):
    """The prover could not produce a receipt (not a guest panic: resources, limits, internal errors)."""


class ReceiptInvalid(LoomError):
    """The receipt does not verify, cannot be decoded, or is a dev-mode (fake) receipt that was not allowed."""


class ImageIdMismatch(ReceiptInvalid):
    """The receipt is valid for another program than the expected image ID."""


# --- TLSNotary ------------------------------------------------------------------------------------------------


class PresentationInvalid(LoomError):
    """A TLSNotary presentation was rejected; ``stage`` names the check (decode, signature, identity, policy...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.stage = message.split(":", 1)[0] if ":" in message else "unknown"
