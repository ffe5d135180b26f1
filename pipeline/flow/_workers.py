"""The worker processes that run a pipeline's steps: jobs in, typed results and progress events out.

Spawned (no wasmtime or prover state is ever forked), and dying with the runner, however it ends (Linux's
parent-death signal and a watchdog), so a kill -9 of the runner orphans nothing. ``Workers`` is the seam where
another engine could back execution later.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pipeline import activities, errors
from pipeline.core import ActivityDefinition, HttpExchange, ProveOptions, canonical
from pipeline.store import default_blobstore

PR_SET_PDEATHSIG = 1  # linux/prctl.h
INLINE_OUTPUT = 64 * 1024  # outputs up to this size come back with the result, so the runner need not read the blob
MAX_LOG_LINES = 200  # of one attempt, journaled; a line is at most 16 KiB (the sandbox cuts it)


class Event(StrEnum):
    """What the runner reports about a step; a ``StrEnum``, so callbacks comparing with the strings still work."""

    STARTED = "started"
    SUCCEEDED = "succeeded"
    CACHED = "cached"
    SKIPPED = "skipped"
    FAILED = "failed"
    RETRYING = "retrying"
    PROGRESS = "progress"


Events = Callable[[str, Event, dict[str, Any]], None]
"""``events(step, event, details)``, called by the runner (and for ``progress``, by a relay thread)."""


@dataclass(frozen=True, slots=True)
class StepEvent:
    """An event a worker reports (a proof's progress), relayed to the run's ``Events``."""

    step: str
    event: Event
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Job:
    """One step for a worker; the activity goes as JSON (each worker validates a definition once)."""

    step: str
    defn_json: str
    document: Any
    options_json: str | None


@dataclass(frozen=True, slots=True)
class Succeeded:
    """A step a worker ran: its output's blob, and the output itself (canonical JSON) when it is small."""

    output_blob: str
    output: bytes | None = None
    http: tuple[dict[str, Any], ...] = ()  # the HTTP requests it made (loom_http), for the journal
    logs: tuple[tuple[str, str], ...] = ()  # (level, text) of the lines it logged (loom.log), for the journal


@dataclass(frozen=True, slots=True)
class Failed:
    """A step that failed on a worker (``type`` is the error's class name); ``retryable`` failures may pass."""

    type: str
    message: str
    retryable: bool
    http: tuple[dict[str, Any], ...] = ()
    logs: tuple[tuple[str, str], ...] = ()


WorkerResult = Succeeded | Failed

_worker_state: dict[str, Any] = {}


def _init_worker(home: str, events: Any, parent: int) -> None:
    os.environ["LOOM_HOME"] = home
    _worker_state["events"] = events
    _die_with(parent)


def _die_with(parent: int) -> None:
    """Ends this worker when the runner ends, however it ends: Linux's parent-death signal, and a watchdog thread
    for the moment between spawn and prctl (and for systems without it)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="loom-watchdog", daemon=True).start()


def _run_jobs(jobs: tuple[Job, ...]) -> list[WorkerResult]:
    """Runs a batch of steps in a worker process, one after another; never raises."""
    if "executors" not in _worker_state:
        _worker_state["executors"] = activities.Executors(default_blobstore())
        _worker_state["definitions"] = {}
    executors, definitions = _worker_state["executors"], _worker_state["definitions"]
    return [run_job(job, executors, definitions, _worker_state.get("events")) for job in jobs]


def run_job(
    job: Job, executors: activities.Executors, definitions: dict[str, ActivityDefinition], events: Any
) -> WorkerResult:
    """Runs one step with ``executors`` (``definitions`` caches validated activities; ``events``, a queue, gets
    the step's progress); never raises."""

    def progress(phase: str, done: int, total: int) -> None:
        if events is not None:
            events.put(StepEvent(job.step, Event.PROGRESS, {"phase": phase, "done": done, "total": total}))

    requests: list[dict[str, Any]] = []

    def audit(exchange: HttpExchange) -> None:  # back with the result, which the runner journals
        requests.append(exchange.model_dump())

    lines: list[tuple[str, str]] = []

    def log(level: str, text: str) -> None:  # back with the result too, the first MAX_LOG_LINES of them
        if len(lines) < MAX_LOG_LINES:
            lines.append((level, text))
        elif len(lines) == MAX_LOG_LINES:
            lines.append(("warn", f"(more lines were logged; the first {MAX_LOG_LINES} are kept)"))

    try:
        defn = definitions.get(job.defn_json)
        if defn is None:
            defn = definitions[job.defn_json] = ActivityDefinition.model_validate_json(job.defn_json)
        options = ProveOptions.model_validate_json(job.options_json) if job.options_json else None
        output = executors.run(defn, job.document, log=log, progress=progress, options=options, audit=audit)
        data = canonical(output)
        inline = data if len(data) <= INLINE_OUTPUT else None
        return Succeeded(executors.blobs.put(data), inline, tuple(requests), tuple(lines))
    except errors.LoomError as exc:
        return Failed(type(exc).__name__, str(exc), exc.retryable, tuple(requests), tuple(lines))
    except Exception as exc:
        return Failed(type(exc).__name__, str(exc), True, tuple(requests), tuple(lines))


class Workers:
    """A pool of worker processes (spawned, so no wasmtime or prover state is ever forked). Workers read LOOM_HOME
    and secrets from the environment they were spawned with (``environment``), and die with the thread that spawned
    them (``owner``: the parent-death signal follows the thread), so a pool only serves runs that match both."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.events: Events | None = None  # the current run's, for the progress workers report
        self.environment = dict(os.environ)
        self.owner: threading.Thread | None = None
        self._pool: ProcessPoolExecutor | None = None  # started on the first submit: cached runs spawn nothing
        self._queue: Any = None
        self._stop = threading.Event()

    def _start(self) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        self.environment, self.owner = dict(os.environ), threading.current_thread()
        self._queue = ctx.Queue()
        threading.Thread(target=self._relay, args=(self._queue,), daemon=True).start()
        return ProcessPoolExecutor(
            self.processes,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(self.environment.get("LOOM_HOME", ""), self._queue, os.getpid()),
        )

    def _relay(self, events: Any) -> None:
        while not self._stop.is_set():
            try:
                event: StepEvent = events.get(timeout=0.1)
            except queue.Empty:
                continue
            except (OSError, EOFError):  # the queue is closed: the interpreter is exiting
                return
            if (sink := self.events) is not None:
                sink(event.step, event.event, event.details)

    def submit(self, jobs: tuple[Job, ...]) -> Future[list[WorkerResult]]:
        if self._pool is None:
            self._pool = self._start()
        try:
            return self._pool.submit(_run_jobs, jobs)
        except BrokenProcessPool:  # a worker died (killed, out of memory): start a new pool
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            return self._pool.submit(_run_jobs, jobs)

    def close(self, *, kill: bool = False) -> None:
        """Waits for running work, or with ``kill`` (the run is being abandoned) ends the workers at once."""
        if self._pool is not None:
            if kill:
                for process in list(getattr(self._pool, "_processes", {}).values()):
                    process.kill()
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._stop.set()


def close_all(pools: list[Workers]) -> None:
    while pools:
        pools.pop().close()


def batch_results(future: Future[list[WorkerResult]], count: int) -> list[WorkerResult]:
    """A batch's results; a worker that died fails each of its steps, as a failure that may pass."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        return [Failed("WorkerDied", f"the worker process died: {exc}", True)] * count
