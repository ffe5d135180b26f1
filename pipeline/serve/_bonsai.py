"""RISC Zero's Bonsai REST API, as ``bonsai-sdk`` 1.4.3 speaks it, under ``/bonsai``: point ``BONSAI_API_URL`` at
``http://HOST:PORT/bonsai`` and ``BONSAI_API_KEY`` at a Loom key, and an unchanged Bonsai client proves on Loom.

Paths and JSON shapes are the SDK's (``bonsai_sdk::responses``). Upload URLs point back at this server; each is
used once. What is uploaded is checked before it is kept: a program must have the image ID it is uploaded as, a
receipt must decode. Sessions are durable jobs (``pipeline.store.ProvingSessions``, run by ``SessionWorker``);
receipts are succinct, as Bonsai's are. Groth16 (``snark/create``) is not available: said so, as a 501.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pipeline import _native, errors, zk
from pipeline.serve._prover import SessionWorker
from pipeline.store import SESSION_UUID, BlobStore, ProvingSessions, Session, SessionStatus, UploadKind

IMAGE_ID = re.compile(r"(?:0x)?([0-9a-fA-F]{64})")
_STATUS = {
    SessionStatus.QUEUED: "RUNNING",
    SessionStatus.RUNNING: "RUNNING",
    SessionStatus.SUCCEEDED: "SUCCEEDED",
    SessionStatus.FAILED: "FAILED",
    SessionStatus.ABORTED: "ABORTED",
}
"""Loom's session statuses as Bonsai names them (a queued session is RUNNING, in state ``Queued``)."""


def risc0_version() -> str:
    return _native.build_info()["risc0_zkvm"]


def _release(version: str) -> tuple[str, ...]:
    """The part of a risc0 version receipts are compatible across: major and minor (pre-release tags dropped)."""
    return tuple(version.split("-")[0].split(".")[:2])


def check_version(x_risc0_version: str | None = Header(None, max_length=64)) -> None:
    """A client built for another risc0 release would get receipts its verifier refuses: refused first."""
    ours = risc0_version()
    if x_risc0_version is not None and _release(x_risc0_version) != _release(ours):
        raise errors.InvalidInput(
            f"this server proves with risc0-zkvm {ours}; the client is built for {x_risc0_version[:40]}: its "
            "verifier would not accept the receipts"
        )


router = APIRouter(prefix="/bonsai", dependencies=[Depends(check_version)], tags=["bonsai"])


class ProofReq(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    img: str = Field(max_length=66)
    input: str = Field(max_length=36)
    assumptions: list[str] = Field([], max_length=64)
    execute_only: bool = False
    exec_cycle_limit: int | None = Field(None, ge=1, le=1 << 20, description="in millions of cycles")


class SnarkReq(BaseModel):
    session_id: str = Field(max_length=36)


def _sessions(request: Request) -> ProvingSessions:
    store: ProvingSessions = request.app.state.sessions
    return store


def _blobs(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


def _worker(request: Request) -> SessionWorker:
    worker: SessionWorker = request.app.state.worker
    return worker


def _url(request: Request, path: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/bonsai/{path}"


def _image_id(text: str) -> str:
    found = IMAGE_ID.fullmatch(text)
    if found is None:
        raise errors.InvalidInput(f"image ID {text[:80]!r}: 64 hex digits")
    return found.group(1).lower()


def _uuid(text: str, what: str) -> str:
    if not SESSION_UUID.fullmatch(text):
        raise errors.NotFound(f"no {what} {text[:80]!r}")
    return text


def _session(request: Request, name: str) -> Session:
    session = _sessions(request).session(_uuid(name, "session"))
    if session is None:
        raise errors.NotFound(f"no session {name}")
    return session


async def _body(request: Request) -> bytes:
    data = await request.body()
    if not data:
        raise errors.InvalidInput("the upload is empty")
    return data


# --- uploads -----------------------------------------------------------------------------------------------------


@router.get("/images/upload/{image_id}", response_model=None)
def image_upload_url(request: Request, image_id: str) -> Response | dict[str, str]:
    """204 when the image is here; else where to PUT it."""
    image_id = _image_id(image_id)
    if _sessions(request).image(image_id) is not None:
        return Response(status_code=204)
    return {"url": _url(request, f"images/{image_id}")}


@router.put("/images/{image_id}")
async def put_image(request: Request, image_id: str) -> dict[str, str]:
    """A guest (an ELF, or risc0's combined program binary), kept only when it has the image ID it is put as."""
    image_id = _image_id(image_id)
    program = await _body(request)
    found = await run_in_threadpool(_native.image_id, program)
    if found != image_id:
        raise errors.ImageIdMismatch(f"the uploaded program's image ID is {found}, not {image_id}: nothing stored")
    blob = await run_in_threadpool(_blobs(request).put, program)
    _sessions(request).add_image(image_id, blob)
    return {"image_id": image_id}


@router.delete("/images/{image_id}")
def delete_image(request: Request, image_id: str) -> dict[str, str]:
    if not _sessions(request).delete_image(_image_id(image_id)):
        raise errors.NotFound(f"no image {image_id[:80]}")
    return {}


def _upload_url(request: Request, kind: UploadKind, route: str) -> dict[str, str]:
    name = _sessions(request).new_upload(kind)
    return {"url": _url(request, f"{route}/{name}"), "uuid": name}


@router.get("/inputs/upload")
def input_upload_url(request: Request) -> dict[str, str]:
    return _upload_url(request, UploadKind.INPUT, "inputs")


@router.get("/receipts/upload")
def receipt_upload_url(request: Request) -> dict[str, str]:
    return _upload_url(request, UploadKind.RECEIPT, "receipts")


async def _fill(request: Request, name: str, kind: UploadKind) -> dict[str, str]:
    sessions = _sessions(request)
    found = sessions.upload_kind(_uuid(name, f"{kind} upload"))
    if found is None or found[0] != kind:
        raise errors.NotFound(f"no {kind} upload {name}: ask {kind}s/upload for one")
    data = await _body(request)
    if kind is UploadKind.RECEIPT:  # a receipt that does not decode is refused here, not when a session uses it
        await run_in_threadpool(zk.Receipt.from_bytes, data)
    blob = await run_in_threadpool(_blobs(request).put, data)
    if not sessions.fill_upload(name, blob):
        raise errors.InvalidInput(f"{kind} upload {name} was made already: each upload URL is used once")
    return {"uuid": name}


@router.put("/inputs/{name}")
async def put_input(request: Request, name: str) -> dict[str, str]:
    return await _fill(request, name, UploadKind.INPUT)


@router.put("/receipts/{name}")
async def put_receipt(request: Request, name: str) -> dict[str, str]:
    return await _fill(request, name, UploadKind.RECEIPT)


@router.delete("/inputs/{name}")
def delete_input(request: Request, name: str) -> dict[str, str]:
    if not _sessions(request).delete_upload(_uuid(name, "input"), UploadKind.INPUT):
        raise errors.NotFound(f"no input {name}")
    return {}


# --- sessions ------------------------------------------------------------------------------------------------------


@router.post("/sessions/create")
def create_session(request: Request, body: ProofReq) -> dict[str, str]:
    """A session on an uploaded image and input (and receipts its guest verifies): queued, durable."""
    sessions = _sessions(request)
    image_id = _image_id(body.img)
    if sessions.image(image_id) is None:
        raise errors.NotFound(f"no image {image_id}: upload it first (images/upload/{{image_id}})")
    for name, kind in [(body.input, UploadKind.INPUT)] + [(a, UploadKind.RECEIPT) for a in body.assumptions]:
        found = sessions.upload_kind(_uuid(name, str(kind)))
        if found is None or found[0] != kind or found[1] is None:
            raise errors.NotFound(f"no uploaded {kind} {name}")
    name = sessions.create(image_id, body.input, body.assumptions, body.execute_only, body.exec_cycle_limit)
    _worker(request).submit(name)
    return {"uuid": name}


@router.get("/sessions/status/{name}")
def session_status(request: Request, name: str) -> dict[str, Any]:
    session = _session(request, name)
    end = session.finished_at or time.time()
    done = session.status is SessionStatus.SUCCEEDED
    return {
        "status": _STATUS[session.status],
        "receipt_url": _url(request, f"receipts/{session.uuid}/download") if done and session.receipt_blob else None,
        "error_msg": session.error,
        "state": session.state if session.status not in (SessionStatus.SUCCEEDED, SessionStatus.FAILED) else None,
        "elapsed_time": round(end - session.created_at, 3),
        "stats": (
            {"segments": session.segments, "total_cycles": session.total_cycles, "cycles": session.user_cycles}
            if done
            else None
        ),
    }


@router.get("/sessions/logs/{name}", response_class=PlainTextResponse)
def session_logs(request: Request, name: str) -> str:
    """What Loom did for the session, a line per phase (the guest's own output is not kept)."""
    return _session(request, name).log


@router.get("/sessions/stop/{name}")
def stop_session(request: Request, name: str) -> dict[str, str]:
    session = _session(request, name)
    if not _sessions(request).stop(session.uuid):
        raise errors.InvalidInput(f"session {session.uuid} is over ({_STATUS[session.status]}): nothing to stop")
    return {}


@router.get("/sessions/exec_only_journal/{name}")
def session_journal(request: Request, name: str) -> Response:
    session = _session(request, name)
    if session.journal_blob is None:
        raise errors.NotFound(f"session {session.uuid} has no journal ({_STATUS[session.status]})")
    return Response(_blobs(request).get(session.journal_blob), media_type="application/octet-stream")


def _receipt_of(request: Request, name: str) -> str:
    """The blob of a session's receipt; ``NotFound`` until it has one."""
    session = _session(request, name)
    if session.receipt_blob is None:
        raise errors.NotFound(f"session {session.uuid} has no receipt ({_STATUS[session.status]})")
    return session.receipt_blob


@router.get("/receipts/{name}")
def receipt_url(request: Request, name: str) -> dict[str, str]:
    _receipt_of(request, name)
    return {"url": _url(request, f"receipts/{name}/download")}


@router.get("/receipts/{name}/download")
def receipt_download(request: Request, name: str) -> Response:
    """The session's succinct receipt: risc0's bincode of ``Receipt``."""
    return Response(_blobs(request).get(_receipt_of(request, name)), media_type="application/octet-stream")


@router.post("/snark/create")
def create_snark(_: SnarkReq) -> JSONResponse:
    """Groth16 needs risc0's Groth16 prover (x86 with its circuit files, or a GPU service): Loom has none."""
    message = (
        "Groth16 (SNARK) receipts are not available on Loom: it proves composite and succinct STARK receipts only; "
        "verify the succinct receipt with risc0's verifier instead"
    )
    return JSONResponse({"error": {"type": "NotAvailable", "message": message, "exit_code": 1}}, status_code=501)


# --- the service ---------------------------------------------------------------------------------------------------


@router.get("/version")
def version() -> dict[str, list[str]]:
    return {"risc0_zkvm": [risc0_version()]}


@router.get("/user/quotas")
def quotas(request: Request) -> dict[str, int]:
    used = sum(s.total_cycles or 0 for s in _sessions(request).sessions(limit=100_000))
    return {
        "exec_cycle_limit": 1 << 20,
        "concurrent_proofs": 1,
        "cycle_budget": (1 << 62) - used,
        "cycle_usage": used,
        "dedicated_executor": 0,
        "dedicated_gpu": 0,
    }
