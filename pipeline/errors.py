"""Loom's exceptions: one hierarchy, so callers can catch ``LoomError`` or exactly the failure they handle.

``retryable`` tells the runner whether trying again can help: deterministic failures (a trap, an invalid proof,
a denied capability) never retry.
"""

from __future__ import annotations

from enum import StrEnum


class LoomError(Exception):
    """Base of every error Loom raises on purpose. ``exit_code`` is what the CLI exits with: 1 the work ran and
    failed, 2 bad usage or input, 3 a limit was hit, 4 a capability was denied, 5 the cluster asked for cannot be
    used, 6 the data dir cannot be read or written."""

    retryable: bool = False
    exit_code: int = 1


class InvalidInput(LoomError, ValueError):
    """The input document is not what the activity or guest accepts (encoding, size, JSON syntax)."""

    exit_code = 2


class RunInProgress(InvalidInput):
    """The run is live in another process: resuming it too would run its steps twice."""


class ClusterUnavailable(LoomError):
    """A cluster was asked for, but Ray is not installed or the cluster cannot be reached."""

    exit_code = 5


class ClusterWithoutToken(UserWarning):
    """A warning, not an error: the Ray cluster Loom connected to does not authenticate its clients, so anyone who
    reaches its ports runs code on its nodes."""


class NotFound(LoomError, LookupError):
    """``loom serve`` has nothing by that name or ID: a session, an upload, an image, a run or a pipeline."""

    exit_code = 2


class ServiceBusy(LoomError):
    """``loom serve`` has no room for more of this work now (every run thread is busy): try again later."""

    retryable = True


class StoreFailed(LoomError):
    """The data dir cannot serve Loom: its journal or registry is damaged, not private, or on a full disk."""

    exit_code = 6


class StoreCorrupted(StoreFailed):
    """A file of the data dir is not what Loom wrote there (truncated, overwritten, planted, or made by a newer
    Loom); the message names it and what moving it aside costs."""


class StoreUnwritable(StoreFailed):
    """The data dir's disk refused a read or a write (full, read-only, failing): nothing was recorded."""


class BlobNotFound(LoomError, KeyError):
    """No blob with that digest is in the store."""

    exit_code = 2


class BlobCorrupted(LoomError):
    """A stored blob's bytes no longer hash to its digest; it is never executed."""


# --- WebAssembly activities ------------------------------------------------------------------------------------


class ActivityNotFound(LoomError, LookupError):
    """No registered activity matches that name (and version)."""

    exit_code = 2


class InvalidModule(LoomError):
    """The blob is not a WebAssembly module Loom can run (not wasm, wrong ABI, wrong runtime)."""

    exit_code = 2


class InvalidOutput(LoomError):
    """The activity returned something that is not a JSON document (bad encoding, bad pointer, nested too deep)."""


class OutputTooLarge(InvalidOutput):
    """The activity's output is larger than its ``limits.output_mib``; refused before it is read or decoded."""

    exit_code = 3


class ActivityTimeout(LoomError):
    """The activity ran past its wall-clock deadline and was interrupted; a busy machine may pass next time."""

    retryable = True
    exit_code = 3


class ActivityOutOfFuel(ActivityTimeout):
    """The activity used all its fuel: the same input always needs the same fuel, so this is never retried."""

    retryable = False


class ActivityOutOfMemory(LoomError):
    """The activity tried to hold more than its memory limit: linear memory, tables and host-side state together."""

    exit_code = 3


class ActivityTrapped(LoomError):
    """The activity trapped (unreachable, out-of-bounds, abort); carries the wasm frames when known."""

    def __init__(self, message: str, frames: list[str] | None = None) -> None:
        super().__init__(message)
        self.frames = frames or []


class ActivityRejected(LoomError):
    """The activity examined its input and refused it, saying why (``loom.fail``): deterministic, never retried."""


class ActivityExited(ActivityRejected):
    """A WASI activity exited with a non-zero code (``status``; the message ends with its last stderr line).
    ``exit_code`` stays the CLI's: a guest's code would otherwise pass for one of Loom's own."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class CapabilityDenied(LoomError, PermissionError):
    """The activity asked for a host function or secret its definition does not grant."""

    exit_code = 4


class HttpRefused(CapabilityDenied):
    """An HTTP request (``loom_http``) its grant does not allow: host, port, scheme, method, a redirect elsewhere,
    or an address that is not public and that the grant does not name."""


class HttpFailed(LoomError):
    """An allowed HTTP request could not be completed: the name does not resolve, the connection fails, the
    certificate does not verify, or the server's answer is not HTTP."""


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


class NotChainable(LoomError):
    """A run whose proven steps cannot be proven as one chain: a step reads a host step's output, or its guest does
    not commit what it read; the chain guest's own refusals are this too."""


class BundleRefused(LoomError):
    """A result bundle failed a check: a receipt that does not verify or is of an untrusted image, a proven value
    that differs from its journal, a value without provenance, a required value that is not proven."""


# --- TLSNotary ------------------------------------------------------------------------------------------------


class Stage(StrEnum):
    """The check that rejected a TLSNotary presentation: the verifier's ``Stage`` (``rust-guests/tlsn-verifier``),
    plus ``internal`` (the native verifier panicked) and ``unknown`` (a message that names no stage)."""

    request = "request"
    decode = "decode"
    unsupported = "unsupported"
    attestation = "attestation"
    signature = "signature"
    policy = "policy"
    identity = "identity"
    transcript = "transcript"
    internal = "internal"
    unknown = "unknown"

    @classmethod
    def of_message(cls, message: str) -> Stage:
        """The stage a ``"stage: reason"`` message starts with: for rejections that arrive as text only (the wasm
        activity's ``loom.fail``, the zkVM guest's panic)."""
        return cls.named(message.split(":", 1)[0]) if ":" in message else cls.unknown

    @classmethod
    def named(cls, name: str) -> Stage:
        """``unknown`` for a name this Loom does not know (a newer verifier's stage), instead of failing."""
        try:
            return cls(name)
        except ValueError:
            return cls.unknown


class PresentationInvalid(LoomError):
    """A TLSNotary presentation was rejected; ``stage`` names the check. The native verifier passes it as data;
    without it, it is read from the message's ``"stage: "`` prefix."""

    def __init__(self, message: str, stage: Stage | str | None = None) -> None:
        super().__init__(message)
        self.stage = Stage.of_message(message) if stage is None else Stage.named(stage)

    def __reduce__(self) -> tuple[type[PresentationInvalid], tuple[str, str]]:
        return type(self), (str(self), self.stage.value)  # the stage survives a worker process boundary
