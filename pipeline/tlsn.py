"""Verifying TLSNotary presentations: the one Rust verifier (``rust-guests/tlsn-verifier``), run natively in
``pipeline._native`` or sandboxed as the ``tlsn-verify`` wasm activity. Both take the same JSON request and give
the same JSON facts, parsed here into :class:`VerifiedPresentation`.

TLSNotary leaves trust to its caller; Loom does not: a :class:`Policy` names the trusted notary keys (there is no
default) and, by default, requires the server identity and transcript proofs.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline import errors

HashName = Literal["sha256", "blake3", "keccak256"]
Backend = Literal["native", "wasm"]


class Policy(BaseModel):
    """What the caller trusts and requires, on top of TLSNotary's own checks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notary_keys: tuple[str, ...] = Field(min_length=1, description="trusted notary public keys, SEC1 hex")
    server_name: str | None = Field(None, description="the server the session must have been with")
    now: int | None = Field(None, ge=0, description="unix time to judge freshness against")
    max_age: int | None = Field(None, ge=0, description="oldest acceptable session, seconds before `now`")
    require_identity: bool = True
    require_transcript: bool = True
    hash_algs: tuple[HashName, ...] = ("sha256", "blake3", "keccak256")
    mozilla_roots: bool = Field(True, description="trust Mozilla's root store for server certificates")
    roots: tuple[bytes, ...] = Field((), description="further trusted root certificates, DER")

    @field_validator("notary_keys")
    @classmethod
    def _hex_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        for key in keys:
            try:
                bytes.fromhex(key)
            except ValueError:
                raise ValueError(f"notary key {key!r} is not hex") from None
        return tuple(k.lower() for k in keys)

    def to_request(self) -> dict[str, Any]:
        """The policy as the verifier's JSON request expects it (roots in base64)."""
        data = self.model_dump(exclude={"roots"})
        data["roots"] = [base64.b64encode(r).decode() for r in self.roots]
        return data


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Notary(_Facts):
    algorithm: Literal["secp256k1", "secp256r1", "secp256k1eth"]
    key: str


class Attestation(_Facts):
    id: str
    hash: HashName
    root: str


class Server(_Facts):
    name: str
    signature: str = Field(description="the server's key-exchange signature algorithm")


class Chunk(_Facts):
    """Revealed bytes ``start..end``: as text when they are UTF-8, else as hex."""

    start: int
    end: int
    text: str | None = None
    hex: str | None = None


class Direction(_Facts):
    """One direction of the transcript. Redacted bytes are never invented: only ``revealed`` carries data."""

    length: int
    authenticated: list[tuple[int, int]]
    redacted: list[tuple[int, int]]
    revealed: list[Chunk]
    text: str | None = Field(description="the whole direction as text, only when nothing is redacted")


class Transcript(_Facts):
    sent: Direction
    received: Direction


class HttpMessage(_Facts):
    """A fully revealed direction read as HTTP/1.1 (request: method/target; response: status/reason)."""

    version: str | None = None
    method: str | None = None
    target: str | None = None
    status: int | None = None
    reason: str | None = None
    headers: list[tuple[str, str]] = []
    body: str | None = None
    body_json: Any = Field(None, alias="json", description="the body parsed as JSON, when it is JSON")
    trailing_bytes: int = 0
    error: str | None = Field(None, description="why the bytes are not one HTTP message")


class Http(_Facts):
    request: HttpMessage | None
    response: HttpMessage | None


class Extension(_Facts):
    id: str
    value: str


class VerifiedPresentation(_Facts):
    """What a valid presentation proves: who notarized it, with which server, when, and what was said."""

    notary: Notary
    attestation: Attestation
    server: Server | None
    time: int
    tls_version: Literal["1.2", "1.3"]
    transcript: Transcript | None
    http: Http | None
    extensions: list[Extension]


def request_document(presentation: bytes, policy: Policy) -> dict[str, Any]:
    """The JSON request both backends take (the ``tlsn-verify`` activity's input)."""
    return {"presentation": base64.b64encode(presentation).decode(), "policy": policy.to_request()}


def verify_presentation(presentation: bytes, policy: Policy, backend: Backend = "native") -> VerifiedPresentation:
    """Verifies ``presentation`` (TLSNotary's bincode format) against ``policy``; raises ``PresentationInvalid``
    naming the failed check. ``backend="wasm"`` runs the verifier in Loom's wasm sandbox."""
    return VerifiedPresentation.model_validate(verify_to_dict(presentation, policy, backend))


def verify_to_dict(presentation: bytes, policy: Policy, backend: Backend = "native") -> dict[str, Any]:
    """The verifier's JSON answer as data, exactly as the backend gave it."""
    document = request_document(presentation, policy)
    if backend == "native":
        from pipeline import _native

        return json.loads(_native.tlsn_verify(json.dumps(document).encode()))
    if backend == "wasm":
        try:
            return _wasm_verifier().run(document)
        except errors.ActivityRejected as exc:
            raise errors.PresentationInvalid(str(exc)) from None
    raise errors.InvalidInput(f"backend must be 'native' or 'wasm', not {backend!r}")


class _WasmVerifier:
    """The built ``tlsn-verify`` module in an executor of its own, compiled once and kept warm."""

    def __init__(self) -> None:
        from pipeline.activities import BUILTINS, read_module
        from pipeline.blobstore import MemoryBlobStore
        from pipeline.home import build_dir
        from pipeline.models import ActivityDefinition
        from pipeline.wasm import WasmExecutor

        file, runtime, capabilities = BUILTINS["tlsn-verify"]
        blobs = MemoryBlobStore()
        self.defn = ActivityDefinition(name="tlsn-verify", version="0.0.0", runtime=runtime,
                                       blob=blobs.put(read_module(build_dir() / file)), capabilities=capabilities)
        self.executor = WasmExecutor(blobs)

    def run(self, document: dict[str, Any]) -> dict[str, Any]:
        return self.executor.run(self.defn, document)


_wasm: _WasmVerifier | None = None
_wasm_lock = threading.Lock()


def _wasm_verifier() -> _WasmVerifier:
    global _wasm
    with _wasm_lock:
        if _wasm is None:
            _wasm = _WasmVerifier()
        return _wasm
