"""Verifying TLSNotary presentations: the one Rust verifier (``rust-guests/tlsn-verifier``), run natively in
``pipeline._native`` or sandboxed as the ``tlsn-verify`` wasm activity. Both take the same JSON request and give
the same JSON facts, parsed here into :class:`VerifiedPresentation`.

TLSNotary leaves trust to its caller; Loom does not: a :class:`Policy` names the trusted notary keys (there is no
default) and, by default, requires the server identity and transcript proofs. A :class:`Trust` is those keys as
users hold them (hex, PEM, a file of named notaries with validity windows) and the checks the verifier cannot make.

Presentations come as tools write them: :func:`load_presentation` reads each encoding to the bincode bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from pipeline import errors
from pipeline.core import BUILTINS, TEXT_BYTES, ActivityDefinition, artifact, read_bounded, validation_problem
from pipeline.sandbox import WasmExecutor
from pipeline.store import MemoryBlobStore

HashName = Literal["sha256", "blake3", "keccak256"]
Backend = Literal["native", "wasm"]
Encoding = Literal["bincode", "tlsn-js-json", "hex", "base64"]
Curve = Literal["secp256k1", "secp256r1"]

TLSN_JS_VERSIONS = ("0.1.0-alpha.14", "0.1.0-alpha.15")
"""tlsn-js ``version`` values whose ``data`` is the presentation format the verifier reads (tlsn alpha.14 and later,
``docs/tlsn-presentation.md``); a newer one is added once its format is checked, not assumed."""


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


# --- presentations as users have them ----------------------------------------------------------------------------


class TlsnJsMeta(_Facts):
    """What tlsn-js and the browser extension note beside a presentation. Nothing signs it: it is shown, not trusted."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    notary_url: str | None = Field(None, alias="notaryUrl")
    websocket_proxy_url: str | None = Field(None, alias="websocketProxyUrl")


class _TlsnJsFile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: str
    data: str
    meta: TlsnJsMeta = TlsnJsMeta()


class LoadedPresentation(BaseModel):
    """A presentation's bincode bytes, and how the file held them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: bytes
    encoding: Encoding
    meta: TlsnJsMeta | None = Field(None, description="the tlsn-js file's meta, for that encoding only")


MAX_PRESENTATION_BYTES = 64 << 20  # the verifier's bound (tlsn-verifier's wire::MAX_PRESENTATION)
MAX_PRESENTATION_FILE_BYTES = 2 * MAX_PRESENTATION_BYTES + (1 << 20)  # as hex, with whitespace or tlsn-js's meta
_HEX = re.compile(r"[0-9a-fA-F]+")
_JSON_START = re.compile(rb"[ \t\r\n]*\{")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


def load_presentation(data: bytes) -> LoadedPresentation:
    """A presentation file in any encoding tools write, told apart without a flag: bincode is binary from its first
    byte (a signature algorithm, 1 to 3); text is tlsn-js JSON when it starts with ``{``, else hex, else base64
    (whitespace ignored; text of hex digits only is read as hex). Malformed text is an ``InvalidInput``."""
    if not data:
        raise errors.InvalidInput("the presentation file is empty")
    if len(data) > MAX_PRESENTATION_FILE_BYTES:  # before any decoding: hex of 500 MB would take 2 GB to refuse
        raise errors.InvalidInput(
            f"the presentation file has {len(data):,} bytes; at most {MAX_PRESENTATION_FILE_BYTES:,} are read"
        )
    if _JSON_START.match(data):  # no bincode presentation starts so: its first byte is 1, 2 or 3
        try:
            return _from_tlsn_js(data.decode("utf-8"))  # tlsn-js's meta may hold any text (a notary's URL)
        except UnicodeDecodeError as exc:
            raise errors.InvalidInput(f"the presentation file is JSON that is not UTF-8 (byte {exc.start})") from None
    text = _as_text(data)
    if text is None:
        return LoadedPresentation(data=data, encoding="bincode")
    compact = "".join(text.split())
    if _HEX.fullmatch(compact):
        return LoadedPresentation(data=_unhex(compact, "hex text"), encoding="hex")
    if _BASE64.fullmatch(compact):
        return LoadedPresentation(data=_unbase64(compact), encoding="base64")
    raise errors.InvalidInput("the presentation file is text that is neither hex nor base64 nor tlsn-js JSON")


def read_presentation(path: Path) -> LoadedPresentation:
    """The presentation in the file at ``path``, read within the bound of its largest encoding."""
    return load_presentation(read_bounded(path, MAX_PRESENTATION_FILE_BYTES, "presentation file"))


def _as_text(data: bytes) -> str | None:
    """``data`` as text when it is printable ASCII and whitespace only (no bincode presentation is)."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c.isspace() for c in text) else None


def _from_tlsn_js(text: str) -> LoadedPresentation:
    try:
        document = _TlsnJsFile.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise errors.InvalidInput(f"the presentation file is not valid JSON (truncated?): {first['msg']}") from None
        raise errors.InvalidInput(f"not a tlsn-js presentation: {validation_problem(exc)}") from None
    if document.version not in TLSN_JS_VERSIONS:
        raise errors.InvalidInput(
            f"tlsn-js presentation version {document.version[:40]!r} is not supported: Loom "
            f"reads versions {', '.join(TLSN_JS_VERSIONS)}"
        )
    return LoadedPresentation(
        data=_unhex(document.data, "the tlsn-js data field"), encoding="tlsn-js-json", meta=document.meta
    )


def _unhex(text: str, what: str) -> bytes:
    if len(text) > 2 * MAX_PRESENTATION_BYTES:
        raise errors.InvalidInput(
            f"{what} encodes {len(text) // 2:,} bytes; a presentation has at most {MAX_PRESENTATION_BYTES:,}"
        )
    if len(text) % 2:
        raise errors.InvalidInput(f"{what} has an odd number of hex digits ({len(text)}): truncated?")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise errors.InvalidInput(f"{what} is not hex") from None


def _unbase64(text: str) -> bytes:
    if len(text) * 3 // 4 > MAX_PRESENTATION_BYTES:
        raise errors.InvalidInput(
            f"the presentation file's base64 text encodes about {len(text) * 3 // 4:,} bytes; "
            f"a presentation has at most {MAX_PRESENTATION_BYTES:,}"
        )
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except binascii.Error as exc:
        raise errors.InvalidInput(f"the presentation file's base64 text does not decode: {exc}") from None


# --- trusted notaries ---------------------------------------------------------------------------------------------

_CURVE_OF_ALGORITHM: dict[str, Curve] = {
    "secp256k1": "secp256k1",
    "secp256k1eth": "secp256k1",
    "secp256r1": "secp256r1",
}


class TrustedNotary(BaseModel):
    """A notary key Loom trusts, as compressed SEC1 hex (what the verifier's policy takes), with the curves it may be
    on (a PEM names one; hex bytes do not say), and optionally a name and the unix times it may have signed between."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    curves: tuple[Curve, ...]
    name: str | None = None
    valid_from: int | None = None
    valid_until: int | None = None

    @classmethod
    def parse(cls, text: str, **details: Any) -> TrustedNotary:
        """A key as SEC1 hex (compressed or uncompressed) or SubjectPublicKeyInfo PEM text (a notary's ``/info``)."""
        text = text.strip()
        if text.startswith("-----BEGIN"):
            key, curve = _pem_key(text)
            return cls(key=key, curves=(curve,), **details)
        try:
            sec1 = bytes.fromhex(text)
        except ValueError:
            raise errors.InvalidInput("the notary key is not hex (SEC1) nor a PEM public key") from None
        return cls(key=_compressed(sec1), curves=("secp256k1", "secp256r1"), **details)

    def covers(self, when: int) -> bool:
        """Whether a session at ``when`` is inside the validity window."""
        return (self.valid_from is None or when >= self.valid_from) and (
            self.valid_until is None or when <= self.valid_until
        )

    def describe(self) -> str:
        return f"notary {self.name!r}" if self.name else f"notary key {self.key}"


def _compressed(sec1: bytes) -> str:
    """SEC1 bytes in compressed form (prefix 02/03 by the parity of y, then x): the same for either curve."""
    if len(sec1) == 33 and sec1[0] in (2, 3):
        return sec1.hex()
    if len(sec1) == 65 and sec1[0] == 4:
        return bytes([2 + (sec1[64] & 1)]).hex() + sec1[1:33].hex()
    raise errors.InvalidInput(
        f"notary key of {len(sec1)} bytes: SEC1 keys are 33 bytes (02/03, compressed) or 65 (04, uncompressed)"
    )


def _pem_key(text: str) -> tuple[str, Curve]:
    """A PEM public key's compressed point and curve: secp256k1 or P-256, the curves notaries sign with."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError) as exc:
        raise errors.InvalidInput(f"not a PEM public key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in ("secp256k1", "secp256r1"):
        kind = (
            key.curve.name
            if isinstance(key, ec.EllipticCurvePublicKey)
            else type(key).__name__.removesuffix("PublicKey")
        )
        raise errors.InvalidInput(
            f"the PEM notary key is a {kind} key; notaries sign with secp256k1 or P-256 (secp256r1) keys"
        )
    point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    return point.hex(), key.curve.name  # type: ignore[return-value]


class _TrustFileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    key: str = Field(description="SEC1 hex or PEM text")
    valid_from: int | None = Field(None, ge=0)
    valid_until: int | None = Field(None, ge=0)


def default_trust_file() -> Path:
    """Where named notaries are kept when no key is given: ``$LOOM_CONFIG_DIR`` or ``~/.config/loom``."""
    env = os.environ.get("LOOM_CONFIG_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "loom"
    return base / "notaries.json"


def load_trust_file(path: Path) -> tuple[TrustedNotary, ...]:
    """A trust file: a JSON list of ``{"name", "key", "valid_from"?, "valid_until"?}``."""
    try:
        entries = TypeAdapter(list[_TrustFileEntry]).validate_json(read_bounded(path, TEXT_BYTES, "notaries file"))
    except ValidationError as exc:
        raise errors.InvalidInput(f"notaries file {path}: {validation_problem(exc)}") from None
    if not entries:
        raise errors.InvalidInput(f"notaries file {path} names no notary")
    return tuple(_trusted_entry(path, e) for e in entries)


def _trusted_entry(path: Path, entry: _TrustFileEntry) -> TrustedNotary:
    try:
        return TrustedNotary.parse(
            entry.key, name=entry.name, valid_from=entry.valid_from, valid_until=entry.valid_until
        )
    except errors.InvalidInput as exc:
        raise errors.InvalidInput(f"notaries file {path}, notary {entry.name!r}: {exc}") from None


class Trust(BaseModel):
    """The notaries a caller trusts, and the checks on the verified notary the verifier leaves to Loom: its curve,
    and its validity window at the session's time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notaries: tuple[TrustedNotary, ...] = Field(min_length=1)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n.key for n in self.notaries))

    def signer(self, algorithm: str, key: str, when: int) -> TrustedNotary:
        """The trusted notary that signed a verified presentation; ``PresentationInvalid`` when its curve is not the
        signature's or the session is outside its validity window."""
        curve = _CURVE_OF_ALGORITHM[algorithm]
        same_key = [n for n in self.notaries if n.key == _compressed(bytes.fromhex(key))]
        same_curve = [n for n in same_key if curve in n.curves]
        if not same_curve:
            raise errors.PresentationInvalid(
                f"policy: the attestation is signed with a {curve} key; the trusted "
                f"{same_key[0].describe()} is a {same_key[0].curves[0]} key",
                errors.Stage.policy,
            )
        signer = next((n for n in same_curve if n.covers(when)), None)
        if signer is None:
            raise errors.PresentationInvalid(
                f"policy: the session at {when} ({_utc(when)}) is outside the validity of {_validity(same_curve[0])}",
                errors.Stage.policy,
            )
        return signer


def _utc(when: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def _validity(n: TrustedNotary) -> str:
    bounds = [
        f"valid from {n.valid_from} ({_utc(n.valid_from)})" if n.valid_from is not None else "",
        f"valid until {n.valid_until} ({_utc(n.valid_until)})" if n.valid_until is not None else "",
    ]
    return f"{n.describe()}, {' and '.join(b for b in bounds if b)}"


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
        from pipeline import _native  # loaded on first use: wasm-only callers never map the prover

        answer: dict[str, Any] = json.loads(_native.tlsn_verify(json.dumps(document).encode()))
        return answer
    if backend == "wasm":
        try:
            return _wasm_verifier().run(document)
        except errors.ActivityRejected as exc:  # loom.fail carries text only: the stage is its "stage: " prefix
            raise errors.PresentationInvalid(str(exc)) from None
    raise errors.InvalidInput(f"backend must be 'native' or 'wasm', not {backend!r}")


class _WasmVerifier:
    """The built ``tlsn-verify`` module in an executor of its own, compiled once and kept warm."""

    def __init__(self) -> None:
        builtin = BUILTINS["tlsn-verify"]
        blobs = MemoryBlobStore()
        self.defn = ActivityDefinition(
            name="tlsn-verify",
            version="0.0.0",
            runtime=builtin.runtime,
            blob=blobs.put(artifact(builtin.file).read_bytes()),
            capabilities=builtin.capabilities,
        )
        self.executor = WasmExecutor(blobs)

    def run(self, document: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.executor.run(self.defn, document)
        return answer


_wasm: _WasmVerifier | None = None
_wasm_lock = threading.Lock()


def _wasm_verifier() -> _WasmVerifier:
    global _wasm
    with _wasm_lock:
        if _wasm is None:
            _wasm = _WasmVerifier()
        return _wasm
