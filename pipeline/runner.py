"""The pipeline runner: a DAG of steps run by a pool of worker processes, journaled, cached and resumable.

- Independent steps run concurrently on worker processes (proving is CPU-bound). ``Workers`` is the seam where
  another engine could back execution later.
- Every attempt is journaled before the runner moves on; outputs go to the blob store.
- Cache key = (activity blob digest, canonical input digest, limits, grants, secret names, a keyed digest of the
  granted secrets' values): a cached step is not executed again, and no output derived from a secret reaches a
  step that was not granted it, or outlives the secret's rotation.
- Failures that may pass (``retryable``: timeouts, crashed workers) retry with exponential backoff and jitter;
  deterministic ones (a trap, an invalid proof, a denied capability, bad input) fail the run at once.
- ``resume`` continues a run from its journal (after a crash or kill -9) without redoing finished steps, with the
  activity versions pinned when the run started; a run still live in another process is refused (``RunLock``).
- Worker processes die with the runner (parent-death signal and a watchdog), so a kill -9 orphans nothing.
"""

from __future__ import annotations

import ctypes
import hashlib
import heapq
import hmac
import json
import multiprocessing
import os
import queue
import random
import secrets as secrets_module
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pydantic import BaseModel

from pipeline import errors
from pipeline.blobstore import BlobStore, default_blobstore
from pipeline.journal import Journal, default_journal
from pipeline.keyfile import private_key
from pipeline.models import ActivityDefinition, ProveOptions, Runtime
from pipeline.registry import ActivityRegistry, default_registry
from pipeline.secrets import SecretProvider, default_secrets
from pipeline.spec import PipelineSpec, lookup, references, render

PR_SET_PDEATHSIG = 1  # linux/prctl.h

Events = Callable[[str, str, dict[str, Any]], None]
"""``events(step, event, details)``: event is started | succeeded | cached | skipped | failed | retrying | progress."""


def canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def secrets_digest(names: tuple[str, ...], provider: SecretProvider, key: bytes) -> str:
    """A keyed digest of the granted secrets' values (the values themselves never reach the journal): a rotated or
    removed secret changes it, and without the key it tells nothing about them."""
    mac = hmac.new(key, b"loom-secrets-v1", "sha256")
    for name in sorted(names):
        value = provider.get(name)
        mac.update(json.dumps([name, value]).encode() + b"\n")
    return mac.hexdigest()


def cache_key(defn: ActivityDefinition, document: Any, secrets: str, options: ProveOptions | None = None) -> str:
    """What decides a step's output: the module, the input, the limits, the grants, the secrets' digest and, for a
    proof, the receipt kind and segment size."""
    parts = [defn.blob, hashlib.sha256(canonical(document)).hexdigest(), defn.limits.model_dump_json(),
             defn.capabilities.model_dump_json(), secrets, options.model_dump_json() if options else ""]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class RunResult(BaseModel):
    run_id: str
    status: str
    output: Any = None
    error: str | None = None
    executed: int = 0
    cached: int = 0


# --- workers --------------------------------------------------------------------------------------------------

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


def _run_in_worker(step: str, defn_json: str, document: Any, options_json: str | None) -> dict[str, Any]:
    """Runs one step in a worker process; returns the output's blob digest or the error, never raises."""
    from pipeline.activities import Executors

    if "executors" not in _worker_state:
        _worker_state["executors"] = Executors(default_blobstore())
    executors: Executors = _worker_state["executors"]
    events = _worker_state.get("events")

    def progress(phase: str, done: int, total: int) -> None:
        if events is not None:
            events.put((step, "progress", {"phase": phase, "done": done, "total": total}))

    try:
        defn = ActivityDefinition.model_validate_json(defn_json)
        options = ProveOptions.model_validate_json(options_json) if options_json else None
        output = executors.run(defn, document, progress=progress, options=options)
        return {"ok": True, "output_blob": executors.blobs.put(canonical(output))}
    except errors.LoomError as exc:
        return {"ok": False, "type": type(exc).__name__, "message": str(exc), "retryable": exc.retryable}
    except Exception as exc:  # noqa: BLE001 - a bug or resource failure in the worker: report, may pass
        return {"ok": False, "type": type(exc).__name__, "message": str(exc), "retryable": True}


class Workers:
    """A pool of worker processes (spawned, so no wasmtime or prover state is ever forked)."""

    def __init__(self, processes: int, events: Events | None) -> None:
        self.processes, self.events = processes, events
        self._pool: ProcessPoolExecutor | None = None  # started on the first submit: cached runs spawn nothing
        self._queue: Any = None
        self._stop = threading.Event()

    def _start(self) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        self._queue = ctx.Queue() if self.events else None
        if self.events:
            threading.Thread(target=self._relay, args=(self.events,), daemon=True).start()
        return ProcessPoolExecutor(self.processes, mp_context=ctx, initializer=_init_worker,
                                   initargs=(os.environ.get("LOOM_HOME", ""), self._queue, os.getpid()))

    def _relay(self, events: Events) -> None:
        while not self._stop.is_set():
            try:
                step, event, details = self._queue.get(timeout=0.1)  # type: ignore[union-attr]
            except queue.Empty:
                continue
            events(step, event, details)

    def submit(self, step: str, defn: ActivityDefinition, document: Any, options: ProveOptions | None) -> Future:
        args = (_run_in_worker, step, defn.model_dump_json(), document, options.model_dump_json() if options else None)
        if self._pool is None:
            self._pool = self._start()
        try:
            return self._pool.submit(*args)
        except BrokenProcessPool:  # a worker died (killed, out of memory): start a new pool
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            return self._pool.submit(*args)

    def close(self, *, kill: bool = False) -> None:
        """Waits for running work, or with ``kill`` (the run is being abandoned) ends the workers at once."""
        if self._pool is not None:
            if kill:
                for process in list(getattr(self._pool, "_processes", {}).values()):
                    process.kill()
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._stop.set()


def _outcome(future: Future) -> dict[str, Any]:
    """A worker's result; a worker that died is a failure that may pass."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        return {"ok": False, "type": "WorkerDied", "message": f"the worker process died: {exc}", "retryable": True}


# --- the runner -----------------------------------------------------------------------------------------------


class Runner:
    def __init__(self, *, blobs: BlobStore | None = None, registry: ActivityRegistry | None = None,
                 journal: Journal | None = None, workers: int = 2, secrets: SecretProvider | None = None) -> None:
        self.blobs = blobs or default_blobstore()
        self.registry = registry or default_registry()
        self.journal = journal or default_journal()
        self.workers = workers
        self.secrets = secrets or default_secrets()
        self._secrets_key = private_key(self.journal.path.parent / "secrets-digest.key") or secrets_module.token_bytes(32)

    def run(self, spec: PipelineSpec, document: Any, *, no_cache: bool = False,
            events: Events | None = None) -> RunResult:
        """Validates the pipeline against its input, then runs it to completion with the activity versions resolved
        now (the journal keeps the spec with those versions pinned, for resume)."""
        definitions = self._validate(spec, document)
        pinned = spec.model_copy(update={"steps": {name: step.model_copy(update={"activity": definitions[name].ref})
                                                   for name, step in spec.steps.items()}})
        run_id = self.journal.start_run(spec.name, pinned.model_dump_json(), self.blobs.put(canonical(document)))
        lock = self.journal.lock(run_id)
        lock.acquire()
        try:
            return self._execute(run_id, pinned, document, no_cache, events)
        finally:
            lock.release()

    def resume(self, run_id: str, *, events: Events | None = None) -> RunResult:
        """Continues a run from its journal: finished steps are kept, the rest run now. Refused while the run is
        live in another process."""
        run = self.journal.run(run_id)
        if run is None:
            raise errors.InvalidInput(f"no run {run_id} in {self.journal.path}")
        if run.status == "succeeded":
            return RunResult(run_id=run_id, status=run.status, output=self._load(run.output_blob))
        lock = self.journal.lock(run_id)
        if not lock.acquire():
            raise errors.RunInProgress(f"run {run_id} is still running in another process; resume it once that "
                                       "process has ended")
        try:
            self.journal.interrupt_attempts(run_id)
            self.journal.reopen_run(run_id)
            spec = PipelineSpec.model_validate_json(run.spec)
            document = self._load(run.input_blob)
            self._validate(spec, document)
            return self._execute(run_id, spec, document, False, events)
        finally:
            lock.release()

    def _validate(self, spec: PipelineSpec, document: Any) -> dict[str, ActivityDefinition]:
        """Everything that can be checked before a step runs: references, the input fields they read, the
        activities (resolved once, per step) and that no step raises its activity's limits."""
        spec.dependencies()
        templates = [s.input for s in spec.steps.values()] + [s.when for s in spec.steps.values()] + [spec.output]
        for ref in references(templates):
            if ref.startswith("input"):
                lookup({"input": document}, ref)  # a missing input field fails before any step runs
        resolved = {ref: self.registry.resolve(ref) for ref in {s.activity for s in spec.steps.values()}}
        definitions = {name: resolved[step.activity] for name, step in spec.steps.items()}
        for name, step in spec.steps.items():
            if step.prove and definitions[name].runtime is not Runtime.risc0:
                raise errors.InvalidInput(f"step {name}: prove options apply to risc0 activities, and "
                                          f"{definitions[name].ref} is a {definitions[name].runtime.value} one")
            if step.limits and not step.limits.within(definitions[name].limits):
                raise errors.InvalidInput(f"step {name}: its limits {step.limits.model_dump()} exceed those "
                                          f"{definitions[name].ref} was registered with "
                                          f"{definitions[name].limits.model_dump()}; a step may only lower them")
        return definitions

    def _load(self, digest: str | None) -> Any:
        return None if digest is None else json.loads(self.blobs.get(digest))

    def _execute(self, run_id: str, spec: PipelineSpec, document: Any, no_cache: bool,
                 events: Events | None) -> RunResult:
        emit = events or (lambda *_: None)
        deps = spec.dependencies()
        definitions = {ref: self.registry.resolve(ref) for ref in {s.activity for s in spec.steps.values()}}
        pool = Workers(self.workers, events)
        try:
            return self._drive(run_id, spec, document, no_cache, emit, deps, definitions, pool)
        except BaseException as exc:  # a bug or Ctrl-C: the run is over, and the journal must say so
            pool.close(kill=True)
            self.journal.finish_run(run_id, "failed", error=f"{type(exc).__name__}: {exc}".strip())
            raise
        finally:
            pool.close()

    def _drive(self, run_id: str, spec: PipelineSpec, document: Any, no_cache: bool, emit: Events,
               deps: dict[str, set[str]], definitions: dict[str, ActivityDefinition], pool: Workers) -> RunResult:
        context: dict[str, Any] = {"input": document, "steps": {}}
        skipped: set[str] = set()
        for step, attempt in self.journal.completed(run_id).items():
            context["steps"][step] = {"output": self._load(attempt.output_blob)}
            if attempt.status == "skipped":
                skipped.add(step)
            emit(step, attempt.status, {"resumed": True})
        pending = [s for s in spec.steps if s not in context["steps"]]
        running: dict[Future, tuple[str, int, ActivityDefinition, Any]] = {}
        delayed: list[tuple[float, str]] = []
        executed = cached = 0
        failure: str | None = None
        try:
            while (pending or running or delayed) and failure is None:
                now = time.monotonic()
                while delayed and delayed[0][0] <= now:
                    pending.append(heapq.heappop(delayed)[1])
                for step in [s for s in pending if deps[s] <= set(context["steps"])]:
                    pending.remove(step)
                    outcome = self._launch(run_id, spec, step, definitions, context, skipped, deps, no_cache, pool,
                                           emit)
                    if isinstance(outcome, tuple):
                        running[outcome[0]] = outcome[1]
                    elif outcome == "cached":
                        cached += 1
                if not running:
                    if delayed:
                        time.sleep(max(0.0, delayed[0][0] - time.monotonic()))
                    continue
                timeout = max(0.0, delayed[0][0] - time.monotonic()) if delayed else None
                finished, _ = wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED)
                for future in finished:
                    step, attempt, defn, _ = running.pop(future)
                    result = _outcome(future)
                    if result["ok"]:
                        executed += 1
                        self.journal.end_attempt(run_id, step, attempt, "succeeded", output_blob=result["output_blob"])
                        context["steps"][step] = {"output": self._load(result["output_blob"])}
                        emit(step, "succeeded", {"attempt": attempt})
                        continue
                    self.journal.end_attempt(run_id, step, attempt, "failed", error_type=result["type"],
                                             error=result["message"])
                    policy = spec.steps[step].retry
                    if result["retryable"] and attempt < policy.max_attempts:
                        delay = policy.delay(attempt + 1, random.random())
                        heapq.heappush(delayed, (time.monotonic() + delay, step))
                        emit(step, "retrying", {"attempt": attempt, "delay_s": delay, "error": result["message"]})
                    else:
                        failure = f"step {step} failed: {result['type']}: {result['message']}"
                        emit(step, "failed", {"attempt": attempt, "error": result["message"]})
            for future, (step, attempt, _, _) in running.items():  # after a failure: record what was in flight
                result = _outcome(future)
                status = "succeeded" if result["ok"] else "failed"
                self.journal.end_attempt(run_id, step, attempt, status, output_blob=result.get("output_blob"),
                                         error_type=result.get("type"), error=result.get("message"))
        except errors.LoomError as exc:
            failure = str(exc)
        if failure:
            self.journal.finish_run(run_id, "failed", error=failure)
            return RunResult(run_id=run_id, status="failed", error=failure, executed=executed, cached=cached)
        try:
            output = render(spec.output, context) if spec.output is not None else \
                {name: step["output"] for name, step in context["steps"].items()}
        except errors.LoomError as exc:
            self.journal.finish_run(run_id, "failed", error=f"output: {exc}")
            return RunResult(run_id=run_id, status="failed", error=f"output: {exc}", executed=executed, cached=cached)
        self.journal.finish_run(run_id, "succeeded", output_blob=self.blobs.put(canonical(output)))
        return RunResult(run_id=run_id, status="succeeded", output=output, executed=executed, cached=cached)

    def _launch(self, run_id: str, spec: PipelineSpec, step: str, definitions: dict[str, ActivityDefinition],
                context: dict[str, Any], skipped: set[str], deps: dict[str, set[str]], no_cache: bool, pool: Workers,
                emit: Events) -> Any:
        """Starts a step: skipped, served from cache, or submitted; returns (future, bookkeeping) when submitted."""
        spec_step = spec.steps[step]
        defn = definitions[spec_step.activity]
        if spec_step.limits:
            defn = defn.model_copy(update={"limits": spec_step.limits})
        if deps[step] & skipped or (spec_step.when and not render(spec_step.when, context)):
            attempt = self.journal.begin_attempt(run_id, step, defn.ref, None, None)
            self.journal.end_attempt(run_id, step, attempt, "skipped", output_blob=self.blobs.put(b"null"))
            context["steps"][step] = {"output": None}
            skipped.add(step)
            emit(step, "skipped", {})
            return "skipped"
        document = render(spec_step.input, context)
        key = cache_key(defn, document, secrets_digest(defn.capabilities.secrets, self.secrets, self._secrets_key),
                        spec_step.prove)
        hit = None if no_cache else self.journal.cached(key)
        input_digest = hashlib.sha256(canonical(document)).hexdigest()
        if hit and self.blobs.has(hit):
            attempt = self.journal.begin_attempt(run_id, step, defn.ref, key, input_digest)
            self.journal.end_attempt(run_id, step, attempt, "cached", output_blob=hit)
            context["steps"][step] = {"output": self._load(hit)}
            emit(step, "cached", {})
            return "cached"
        attempt = self.journal.begin_attempt(run_id, step, defn.ref, key, input_digest)
        emit(step, "started", {"attempt": attempt, "activity": defn.ref})
        return pool.submit(step, defn, document, spec_step.prove), (step, attempt, defn, document)
