"""What ``/v1`` takes and gives: pydantic models, so the OpenAPI document and the checks are one thing.

Binary fields (a receipt, a presentation's bincode, a root certificate) travel as base64 text; a presentation may
also be the text any tool writes (tlsn-js JSON as a string or an object, hex, base64), told apart as the CLI does.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline import errors

HEX_ID = re.compile(r"[0-9a-f]{64}")
PIPELINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def decode_base64(text: str, what: str) -> bytes:
    """Strict base64 (standard or URL-safe alphabet, padding optional); an ``InvalidInput`` naming ``what``."""
    cleaned = "".join(text.split()).replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise errors.InvalidInput(f"{what} is not base64") from None


class PolicyIn(_In):
    """The trust options of ``loom tlsn verify``: who may have notarized, with which server, how recently."""

    notary_keys: list[str] = Field(
        min_length=1, max_length=64, description="trusted notary public keys: SEC1 hex or PEM public keys"
    )
    server_name: str | None = Field(None, max_length=253, description="the server the session must have been with")
    now: int | None = Field(None, ge=0, description="unix time to judge the session against; default: the server's")
    max_age: int | None = Field(None, ge=0, description="refuse sessions older than this many seconds before `now`")
    roots: list[str] = Field([], max_length=32, description="extra trusted root certificates, DER as base64")
    mozilla_roots: bool = Field(True, description="also trust Mozilla's root store")
    require_identity: bool = True
    require_transcript: bool = True


class TlsnVerifyIn(_In):
    presentation: str | dict[str, Any] = Field(
        description="the presentation: its bincode as base64 or hex, or tlsn-js JSON (as a string or an object)"
    )
    policy: PolicyIn
    backend: Literal["native", "wasm"] = Field("native", description="the verifier natively, or in Loom's sandbox")


class ReceiptVerifyIn(_In):
    receipt: str = Field(description="a RISC Zero receipt (risc0's bincode) as base64")
    image_id: str | None = Field(None, description="the image ID it must prove (hex)")
    guest: str | None = Field(None, max_length=64, description="or: a guest this Loom ships, by name")
    allow_dev_mode: bool = Field(False, description="accept a fake (dev-mode) receipt; it is labelled so")


class ReceiptVerified(BaseModel):
    verified: Literal[True] = True
    image_id: str
    kind: str
    dev_mode: bool
    journal: Any = Field(description="the proven journal: JSON when the guest committed JSON, else {hex}")


class BundleVerifyIn(_In):
    bundle: dict[str, Any] = Field(description="a result bundle (`loom run --bundle`), as JSON")
    image_ids: list[str] = Field([], max_length=64, description="also trust receipts of these image IDs (hex)")
    require_proven: list[str] = Field([], max_length=256, description="output paths that must be proven")


class RunIn(_In):
    pipeline: str = Field(description="a pipeline the server was started with (`loom serve --pipelines DIR`)")
    input: Any = Field(default_factory=dict, description="the pipeline's input document")
    no_cache: bool = False


class RunStarted(BaseModel):
    run_id: str
    url: str = Field(description="where to follow it")


class ErrorBody(BaseModel):
    type: str = Field(description="the class of the error, as the CLI names it")
    message: str
    exit_code: int = Field(description="what the CLI exits with for the same error")


class ErrorOut(BaseModel):
    error: ErrorBody
