"""The run viewer at ``/``: the journal's runs with status, filter and search; a run's graph, timeline, steps (input,
output, error), HTTP requests and receipts (with their verification); the proving sessions with their progress.

A browser logs in once with an API key (``/login``), kept in an HttpOnly, SameSite=Strict cookie that the guard
accepts for the viewer's pages only (GETs outside ``/v1`` and ``/bonsai``): the API still needs the key in a header,
so another site cannot make a logged-in browser change anything. A page of a run that is still running reloads
itself every two seconds.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from pipeline import errors, zk
from pipeline.flow import PipelineSpec, Runner, StepReceipt, render
from pipeline.serve import _pages as pages
from pipeline.serve._keys import ApiKeys
from pipeline.store import RUN_ID, Attempt, BlobStore, LogLine, ProvingSessions, Run, RunStatus, StepStatus

COOKIE = "loom_key"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}

router = APIRouter(include_in_schema=False)


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _reader(request: Request) -> Runner:
    reader: Runner = request.app.state.reader
    return reader


@router.get("/static/viewer.css")
def stylesheet() -> Response:
    return Response(pages.CSS, media_type="text/css", headers={"cache-control": "max-age=3600"})


@router.get("/login")
def login_page() -> HTMLResponse:
    return _html(pages.login())


@router.post("/login")
async def login(request: Request) -> Response:
    """A key from the form: a cookie when it is live, the form again (401) when not."""
    try:
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"), max_num_fields=4)
    except ValueError:  # more fields than a login form has
        return _html(pages.login("that is not the login form"), 400)
    key = (form.get("key") or [""])[0].strip()
    keys: ApiKeys = request.app.state.keys
    if keys.check(key) is None:
        return _html(pages.login("that is not a live API key"), 401)
    answer = RedirectResponse("/", status_code=303, headers=HEADERS)
    secure = request.url.scheme == "https"
    answer.set_cookie(COOKIE, key, httponly=True, samesite="strict", secure=secure, max_age=7 * 24 * 3600)
    return answer


@router.get("/logout")
def logout() -> Response:
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(COOKIE)
    return answer


@router.get("/")
def runs_page(request: Request, status: str = "", q: str = "") -> HTMLResponse:
    """Recent runs, newest first; ``status`` filters, ``q`` searches run IDs and pipeline names."""
    found = _reader(request).journal.runs(500)
    chosen = [
        r
        for r in found
        if (not status or r.status == status) and (not q or q.lower() in f"{r.run_id} {r.pipeline}".lower())
    ]
    options = "".join(f"<option value='{s}'{' selected' if s == status else ''}>{s}</option>" for s in ["", *RunStatus])
    form = (
        "<form class=filter method=get action='/'>"
        f"<select name=status>{options}</select>"
        f"<input name=q value='{pages.text(q)}' placeholder='search run or pipeline' size=30>"
        "<button>filter</button></form>"
    )
    table = pages.table(
        ["run", "pipeline", "status", "started", "seconds", "error"],
        (pages.run_row(r) for r in chosen[:200]),
        empty="no run matches" if (status or q) else "no run yet: `loom run PIPELINE` or POST /v1/runs",
    )
    live = any(r.status == RunStatus.RUNNING for r in chosen[:200])
    return _html(pages.page("runs", f"<h2>Runs</h2>{form}{table}", refresh=5 if live else None))


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str) -> HTMLResponse:
    reader = _reader(request)
    run = reader.journal.run(run_id) if RUN_ID.fullmatch(run_id) else None
    if run is None:
        return _html(pages.page("no such run", f"<p>No run {pages.text(run_id[:80])}.</p>"), 404)
    attempts = reader.journal.attempts(run_id)
    blobs: BlobStore = request.app.state.blobs
    spec = _spec(run)
    latest = {a.step: str(a.status) for a in attempts}
    now = time.time()
    body = [
        f"<h2>Run {pages.text(run.run_id)} of {pages.text(run.pipeline)} {pages.badge(str(run.status))}</h2>",
        f"<p class=muted>started {pages.when(run.created_at)}"
        + (f", took {run.finished_at - run.created_at:.2f}s" if run.finished_at else ", running")
        + "</p>",
    ]
    if run.error:
        body.append(f"<pre class=error>{pages.lines(run.error)}</pre>")
    if spec is not None:
        body += ["<h2>Graph</h2>", pages.graph(list(spec.steps), spec.dependencies(), latest)]
    else:
        body.append("<p class=muted>The journaled spec of this run cannot be read: no graph, no inputs.</p>")
    bars = [pages.Bar(a.step, a.attempt, str(a.status), a.started_at, a.finished_at) for a in attempts]
    body += ["<h2>Timeline</h2>", pages.timeline(bars, run.created_at, run.finished_at or now)]
    body += ["<h2>Steps</h2>", _steps(run, spec, attempts, blobs, reader.journal.logs(run_id))]
    requests = reader.journal.http_requests(run_id)
    if requests:
        body += [
            "<h2>HTTP requests</h2>",
            pages.table(
                ["step", "method", "URL", "status", "bytes", "ms", "error"],
                (
                    [
                        pages.text(r.step),
                        pages.text(r.method),
                        pages.text(r.url),
                        pages.text(r.status if r.status is not None else "-"),
                        pages.text(r.response_bytes if r.response_bytes is not None else "-"),
                        pages.text(r.ms),
                        f"<span class=error>{pages.text(r.error or '')}</span>",
                    ]
                    for r in requests
                ),
            ),
        ]
    if run.status == RunStatus.SUCCEEDED:
        outcome = reader.outcome(run_id)
        body += ["<h2>Output</h2>", f"<pre>{pages.bounded(outcome.output)}</pre>"]
        body += ["<h2>Receipts</h2>", _receipts(run_id, outcome.receipts, blobs)]
    refresh = 2 if run.status == RunStatus.RUNNING else None
    return _html(pages.page(f"run {run.run_id}", "".join(body), refresh=refresh))


def _spec(run: Run) -> PipelineSpec | None:
    """The run's journaled spec, or None when the journal holds something else (a file others can write to)."""
    try:
        spec = PipelineSpec.model_validate_json(run.spec)
        spec.dependencies()
        return spec
    except (ValidationError, errors.LoomError):
        return None


def _steps(run: Run, spec: PipelineSpec | None, attempts: list[Attempt], blobs: BlobStore, logs: list[LogLine]) -> str:
    """Each attempt: its status and time; the step's input (rendered as the runner did, from the run's input and
    the outputs before it), its output, its error and the lines it logged, each bounded and shown as text."""
    logged: dict[tuple[str, int], list[str]] = {}
    for line in logs:
        logged.setdefault((line.step, line.attempt), []).append(f"{line.level} {line.text}")
    outputs: dict[str, Any] = {}
    for a in attempts:
        if a.output_blob and a.status in (StepStatus.SUCCEEDED, StepStatus.CACHED):
            try:
                outputs[a.step] = _json_blob(blobs, a.output_blob)
            except (errors.LoomError, ValueError):
                outputs[a.step] = f"(its output {a.output_blob[:16]}... cannot be read from the blob store)"
    try:
        context = {"input": _json_blob(blobs, run.input_blob), "steps": {s: {"output": o} for s, o in outputs.items()}}
    except (errors.LoomError, ValueError):
        context = None
    rows = []
    for a in attempts:
        given = "-"
        if context is not None and spec is not None and a.step in spec.steps:
            try:
                given = f"<pre>{pages.bounded(render(spec.steps[a.step].input, context, limit=1 << 20))}</pre>"
            except (errors.LoomError, KeyError, ValueError):
                given = "<span class=muted>not shown (it reads a step not done)</span>"
        output = f"<pre>{pages.bounded(outputs[a.step])}</pre>" if a.step in outputs else "-"
        error = (
            f"<pre class=error>{pages.text(a.error_type or '')}: {pages.lines(a.error or '')}</pre>" if a.error else ""
        )
        if lines := logged.get((a.step, a.attempt)):
            error += f"<pre class=log>{pages.bounded(chr(10).join(lines))}</pre>"
        took = f"{a.seconds:.3f}" if a.seconds is not None else "running"
        rows.append(
            [
                pages.text(a.step),
                str(a.attempt),
                pages.badge(str(a.status)),
                pages.text(a.activity),
                took,
                given,
                output + error,
            ]
        )
    headings = ["step", "attempt", "status", "activity", "seconds", "input", "output, error, log"]
    return pages.table(headings, rows, css="steps")


def _receipts(run_id: str, receipts: dict[str, StepReceipt], blobs: BlobStore) -> str:
    """Each proven step's receipt, verified now against its image ID, with a link to download it."""
    rows = []
    for step, r in receipts.items():
        try:
            zk.verify(blobs.get(r.receipt), r.image_id)
            verdict = "<span class='badge succeeded'>verifies</span>"
        except errors.LoomError as exc:
            verdict = f"<span class='badge failed'>does not verify</span> {pages.text(exc)}"
        link = f"<a href='/runs/{pages.text(run_id)}/receipts/{pages.text(step)}'>{pages.text(r.receipt[:16])}…</a>"
        rows.append(
            [pages.text(step), pages.text(r.guest), str(r.kind), pages.text(r.image_id[:16]) + "…", verdict, link]
        )
    return pages.table(["step", "guest", "kind", "image ID", "verification", "download"], rows, "no proven step")


@router.get("/runs/{run_id}/receipts/{step}")
def receipt_file(request: Request, run_id: str, step: str) -> Response:
    reader = _reader(request)
    run = reader.journal.run(run_id) if RUN_ID.fullmatch(run_id) else None
    receipt = reader.outcome(run_id).receipts.get(step) if run and run.status == RunStatus.SUCCEEDED else None
    if receipt is None:
        raise errors.NotFound(f"no receipt of step {step[:80]!r} in run {run_id[:80]!r}")
    blobs: BlobStore = request.app.state.blobs
    return Response(
        blobs.get(receipt.receipt),
        media_type="application/octet-stream",
        headers={"content-disposition": f'attachment; filename="{run_id}-receipt.bin"'},
    )


@router.get("/sessions")
def sessions_page(request: Request) -> HTMLResponse:
    """The Bonsai API's proving sessions, newest first, with where each one is (segments, lifts, joins)."""
    sessions: ProvingSessions = request.app.state.sessions
    found = sessions.sessions(200)
    rows = [
        [
            pages.text(s.uuid),
            pages.text(s.image_id[:16]) + "…",
            pages.badge(str(s.status)),
            pages.text(s.state or ""),
            pages.text("execute only" if s.execute_only else "succinct"),
            pages.text(s.segments if s.segments is not None else "-"),
            pages.text(f"{s.total_cycles:,}" if s.total_cycles else "-"),
            str(s.attempts),
            pages.when(s.created_at),
            f"<span class=error>{pages.text(s.error or '')}</span>",
        ]
        for s in found
    ]
    live = any(s.status in ("queued", "running") for s in found)
    table = pages.table(
        ["session", "image", "status", "state", "kind", "segments", "cycles", "attempts", "created", "error"],
        rows,
        empty="no session yet: point a bonsai-sdk client at /bonsai",
    )
    return _html(pages.page("proving sessions", f"<h2>Proving sessions</h2>{table}", refresh=2 if live else None))


def _json_blob(blobs: BlobStore, digest: str) -> Any:
    return json.loads(blobs.get(digest))
