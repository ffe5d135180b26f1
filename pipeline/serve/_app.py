"""The app of ``loom serve``: Loom's own API under ``/v1`` (verification of presentations, receipts and bundles;
runs), assembled with the Bonsai API (``/bonsai``) and the run viewer (``/``) behind one guard.

Each route does what its CLI command does, through the same functions, and fails the same way: a ``LoomError``
becomes ``{"error": {type, message, exit_code}}`` with the CLI's class, message and exit code, under an HTTP status
that says whose fault it is. Nothing else escapes as text: an unexpected failure is a 500 whose body names no more
than its class (the server's log has the rest). Verification is CPU work: its routes are plain functions, which
the server runs on its thread pool.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline import __version__, errors, results, tlsn, zk
from pipeline.core import TEXT_BYTES
from pipeline.flow import Runner
from pipeline.serve import _bonsai as bonsai
from pipeline.serve import _viewer as viewer
from pipeline.serve._guard import BodyTooLarge, Guard
from pipeline.serve._models import (
    HEX_ID,
    BundleVerifyIn,
    ErrorOut,
    PolicyIn,
    ReceiptVerified,
    ReceiptVerifyIn,
    RunIn,
    RunStarted,
    TlsnVerifyIn,
    decode_base64,
)
from pipeline.serve._prover import SessionWorker
from pipeline.serve._runs import RunQueue
from pipeline.serve._settings import Settings
from pipeline.store import RUN_ID, ProvingSessions, RunStatus, SessionsLock, default_blobstore

log = logging.getLogger("loom.serve")


def status_of(exc: errors.LoomError) -> int:
    """The HTTP status of a Loom error: the caller's fault (400/404/403/413), a check that failed (422), the
    server's state (503)."""
    if isinstance(exc, errors.ServiceBusy | errors.StoreFailed):
        return 503
    if isinstance(exc, errors.NotFound | errors.ActivityNotFound | errors.BlobNotFound):
        return 404
    if isinstance(exc, errors.RunInProgress):
        return 409
    if isinstance(exc, errors.CapabilityDenied):
        return 403
    if exc.exit_code == 2:
        return 400
    return 422


def _error(status: int, kind: str, message: str, exit_code: int, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"type": kind, "message": message, "exit_code": exit_code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _request_problem(exc: RequestValidationError) -> str:
    """The first thing wrong with a request: ``where: what``, where is a dot path in the body."""
    first: dict[str, Any] = dict(exc.errors()[0]) if exc.errors() else {"loc": (), "msg": "malformed request"}
    if first.get("type") == "json_invalid":
        return "the body is not JSON: " + str(dict(first.get("ctx") or {}).get("error", "malformed"))
    if tuple(first.get("loc", ())) == ("body",) and first.get("type") == "missing":
        return "the body is missing: send a JSON object"
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


verification = APIRouter(prefix="/v1")
runs = APIRouter(prefix="/v1")


def create_app(settings: Settings) -> Guard:
    """The API as an ASGI app, behind its door (keys, body cap, access log)."""
    sessions = ProvingSessions()
    owner = SessionsLock(sessions)
    owner.acquire()  # one server per data dir: two would prove the same sessions and resume the same runs
    queue = RunQueue(settings.pipelines, sessions, threads=settings.run_threads)
    for run_id in queue.resume_cut_short():  # a damaged journal is one line now, before anything listens
        log.info("run %s was cut short by the last server: resuming it", run_id)
    blobs = default_blobstore()
    worker = SessionWorker(sessions, blobs, settings.cluster)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker.start()
        yield
        worker.close()
        queue.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Loom",
        version=__version__,
        description="Verify TLSNotary presentations, RISC Zero receipts and result bundles; run pipelines.",
        docs_url=None,  # Swagger UI and ReDoc load from a CDN: the OpenAPI document is served, the pages are not
        redoc_url=None,
        responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    )
    app.state.runs = queue
    app.state.sessions = sessions
    app.state.blobs = blobs
    app.state.worker = worker
    app.state.owner = owner
    app.state.keys = settings.keys
    app.state.reader = Runner()  # reads the journal (a connection per thread), works out finished runs' outcomes
    _errors(app)
    app.include_router(verification)
    app.include_router(runs)
    app.include_router(bonsai.router)
    app.include_router(viewer.router)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return Guard(app, settings.keys, settings.max_body)


@verification.get("/version")
def version() -> dict[str, Any]:
    """The versions of Loom and of its native module (risc0, the TLSNotary verifier)."""
    from pipeline import _native

    return {"loom": __version__, "native": _native.__version__, **_native.build_info()}


@verification.post("/tlsn/verify")
def tlsn_verify(body: TlsnVerifyIn) -> dict[str, Any]:
    """Verify a TLSNotary presentation under a policy: what ``loom tlsn verify --json`` prints, or 422."""
    raw = body.presentation
    loaded = tlsn.load_presentation((json.dumps(raw) if isinstance(raw, dict) else raw).encode())
    trust, policy = _policy(body.policy)
    verified = tlsn.verify_presentation(loaded.data, policy, body.backend)
    trust.signer(verified.notary.algorithm, verified.notary.key, verified.time)
    return {**verified.model_dump(mode="json", by_alias=True), "encoding": loaded.encoding}


@verification.post("/receipts/verify")
def receipt_verify(body: ReceiptVerifyIn) -> ReceiptVerified:
    """Verify a RISC Zero receipt against an image ID (or a shipped guest's) and return its journal, or 422."""
    if (body.image_id is None) == (body.guest is None):
        raise errors.InvalidInput("give exactly one of image_id or guest")
    expected = body.image_id.lower() if body.image_id else zk.load_guest(str(body.guest)).image_id
    if not HEX_ID.fullmatch(expected):
        raise errors.InvalidInput("image_id: 64 hex digits (32 bytes)")
    receipt = zk.Receipt.from_bytes(decode_base64(body.receipt, "receipt"))
    journal = receipt.verify(expected, allow_dev_mode=body.allow_dev_mode)
    return ReceiptVerified(
        image_id=expected, kind=receipt.kind, dev_mode=receipt.is_dev_mode, journal=zk.decode_journal(journal)
    )


@verification.post("/bundles/verify")
def bundle_verify(body: BundleVerifyIn) -> JSONResponse:
    """Verify a result bundle as ``loom verify`` does: the report, with 200 when it holds and 422 when not."""
    report = results.verify_bundle(body.bundle, image_ids=body.image_ids, require_proven=body.require_proven)
    data = report.model_dump(mode="json") | {"ok": report.ok}
    if report.ok:
        return JSONResponse(data)
    more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
    refused = errors.BundleRefused(report.problems[0] + more)
    error = {"type": "BundleRefused", "message": str(refused), "exit_code": refused.exit_code}
    return JSONResponse({"error": error, "report": data}, status_code=422)


@runs.get("/runs")
def list_runs(
    request: Request,
    limit: int = Query(50, ge=1, le=1000),
    status: RunStatus | None = None,
    pipeline: str | None = Query(None, max_length=200),
) -> list[dict[str, Any]]:
    """Recent runs, newest first (the journal's, whoever started them), optionally of one status or pipeline."""
    reader: Runner = request.app.state.reader
    found = reader.journal.runs(limit if status is None and pipeline is None else 10_000)
    chosen = [r for r in found if status in (None, r.status) and pipeline in (None, r.pipeline)]
    return [r.model_dump(exclude={"spec"}) for r in chosen[:limit]]


@runs.get("/runs/{run_id}")
def show_run(request: Request, run_id: str) -> dict[str, Any]:
    """A run: its steps' attempts, its HTTP requests and, once it succeeded, its output and provenance."""
    reader: Runner = request.app.state.reader
    run = reader.journal.run(run_id) if RUN_ID.fullmatch(run_id) else None
    if run is None:
        raise errors.NotFound(f"no run {run_id[:80]!r}")
    shown: dict[str, Any] = {
        "run": run.model_dump(exclude={"spec"}),
        "attempts": [a.model_dump() for a in reader.journal.attempts(run_id)],
        "http_requests": [r.model_dump() for r in reader.journal.http_requests(run_id)],
        "logs": [line.model_dump() for line in reader.journal.logs(run_id)],
    }
    if run.status == RunStatus.SUCCEEDED:
        outcome = reader.outcome(run_id)
        shown |= {
            "output": outcome.output,
            "provenance": [p.model_dump(mode="json") for p in outcome.provenance],
            "receipts": {step: r.model_dump(mode="json") for step, r in outcome.receipts.items()},
        }
    return shown


@runs.post("/runs", status_code=202)
def start_run(request: Request, body: RunIn) -> RunStarted:
    """Start a run of a served pipeline; answered once it is journaled, while its steps run. Follow it at
    ``/v1/runs/{run_id}``."""
    queue: RunQueue = request.app.state.runs
    run_id = queue.start(body.pipeline, body.input, no_cache=body.no_cache)
    return RunStarted(run_id=run_id, url=f"/v1/runs/{run_id}")


def _policy(given: PolicyIn) -> tuple[tlsn.Trust, tlsn.Policy]:
    """The trust and policy a request names, checked as the CLI checks its options."""
    notaries = []
    for i, key in enumerate(given.notary_keys):
        if len(key) > TEXT_BYTES:
            raise errors.InvalidInput(f"policy.notary_keys.{i}: too long for a key")
        try:
            notaries.append(tlsn.TrustedNotary.parse(key))
        except errors.InvalidInput as exc:
            raise errors.InvalidInput(f"policy.notary_keys.{i}: {exc}") from None
    trust = tlsn.Trust(notaries=tuple(notaries))
    try:
        policy = tlsn.Policy(
            notary_keys=trust.keys,
            server_name=given.server_name,
            now=int(time.time()) if given.now is None else given.now,
            max_age=given.max_age,
            roots=tuple(decode_base64(r, f"policy.roots.{i}") for i, r in enumerate(given.roots)),
            mozilla_roots=given.mozilla_roots,
            require_identity=given.require_identity,
            require_transcript=given.require_transcript,
        )
    except ValueError as exc:
        raise errors.InvalidInput(f"policy: {exc}") from None
    return trust, policy


def _errors(app: FastAPI) -> None:
    """One JSON shape for every failure."""

    @app.exception_handler(errors.LoomError)
    async def loom_error(_: Request, exc: errors.LoomError) -> JSONResponse:
        return _error(status_of(exc), type(exc).__name__, str(exc), exc.exit_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, "InvalidInput", _request_problem(exc), errors.InvalidInput.exit_code)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "InvalidInput" if isinstance(exc, BodyTooLarge) or exc.status_code < 500 else "ServiceError"
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such route (the API is described at /openapi.json)"
        elif exc.status_code == 405:
            message = "that method is not allowed on this route"
        return _error(exc.status_code, kind, message, 2, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return _error(500, "InternalError", f"the server failed ({type(exc).__name__}); its log says more", 1)
