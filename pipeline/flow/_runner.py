"""The pipeline runner: a DAG of steps run by a pool of worker processes, journaled, cached and resumable.

- Independent steps run concurrently on worker processes (``pipeline.flow._workers``; proving is CPU-bound). Steps
  that become ready together go to the workers in batches (a proof alone), so a thousand small steps cost tens of
  round trips, not thousands; a runner keeps its workers between its runs (spawning them costs more than such a
  run), and replaces them when the environment changed.
- Every attempt is journaled before the runner moves on (the attempts started, or finished, at one moment in one
  transaction); outputs go to the blob store.
- Cache key = (activity blob digest, canonical input digest, limits, grants, secret names, a keyed digest of the
  granted secrets' values): a cached step is not executed again, and no output derived from a secret reaches a
  step that was not granted it, or outlives the secret's rotation.
- Failures that may pass (``retryable``: timeouts, crashed workers) retry with exponential backoff and jitter;
  deterministic ones (a trap, an invalid proof, a denied capability, bad input) fail the run at once.
- ``resume`` continues a run from its journal (after a crash or kill -9) without redoing finished steps, with the
  activity versions pinned when the run started; a run still live in another process is refused (``RunLock``).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import os
import random
import secrets as secrets_module
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from pipeline import activities, errors, zk
from pipeline.core import (
    ActivityDefinition,
    HostFunction,
    ProveOptions,
    Runtime,
    SecretProvider,
    canonical,
    default_secrets,
    private_key,
)
from pipeline.flow._cluster_pool import ClusterWorkers
from pipeline.flow._provenance import Provenance, StepOrigin, StepReceipt, classify, default_template
from pipeline.flow._spec import PipelineSpec, lookup, references, render
from pipeline.flow._workers import (
    Event,
    Events,
    Job,
    Succeeded,
    WorkerResult,
    Workers,
    batch_results,
    close_all,
)
from pipeline.store import (
    DONE,
    ActivityRegistry,
    Attempt,
    AttemptEnd,
    BlobStore,
    HttpRequest,
    Journal,
    LogLine,
    NewAttempt,
    RunStatus,
    StepStatus,
    default_blobstore,
    default_journal,
    default_registry,
)

MAX_BATCH = 32  # steps per worker round trip: enough to amortise it, few enough to keep the workers balanced


def secrets_digest(names: tuple[str, ...], provider: SecretProvider, key: bytes) -> str:
    """A keyed digest of the granted secrets' values (the values themselves never reach the journal): a rotated or
    removed secret changes it, and without the key it tells nothing about them."""
    mac = hmac.new(key, b"loom-secrets-v1", "sha256")
    for name in sorted(names):
        value = provider.get(name)
        mac.update(json.dumps([name, value]).encode() + b"\n")
    return mac.hexdigest()


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class RunResult(BaseModel):
    run_id: str
    status: RunStatus
    output: Any = None
    provenance: list[Provenance] = []
    """Where each part of ``output`` comes from: a verified receipt's journal, or the host."""
    receipts: dict[str, StepReceipt] = {}
    """The receipt of each proven step that ran (risc0, or wasm with ``prove:``), by step."""
    error: str | None = None
    executed: int = 0
    cached: int = 0


def _provenance(
    spec: PipelineSpec,
    template: Any,
    output: Any,
    definitions: dict[str, ActivityDefinition],
    outputs: dict[str, Any],
    skipped: set[str],
) -> dict[str, Any]:
    """A finished run's ``provenance`` and ``receipts`` (see ``RunResult``), from its steps' activities, proof
    options and outputs: the same whether worked out as the run ends or read back from its journal."""
    origins = {
        name: StepOrigin(defn.runtime, name in skipped, spec.steps[name].prove is not None)
        for name, defn in definitions.items()
    }
    receipts = {
        name: StepReceipt(
            guest=defn.ref,
            image_id=outputs[name]["image_id"],
            kind=outputs[name]["kind"],
            receipt=outputs[name]["receipt"],
            module_sha256=None if defn.runtime is Runtime.risc0 else defn.blob,
        )
        for name, defn in definitions.items()
        if origins[name].proven and not origins[name].skipped
    }
    return {"provenance": classify(template, output, origins), "receipts": receipts}


# --- the state of a run ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepPlan:
    """What a step runs, worked out once per run: its activity (with the step's lower limits) and proof options,
    as JSON for the workers and for the cache key."""

    defn: ActivityDefinition
    defn_json: str
    options_json: str | None
    limits_json: str
    capabilities_json: str
    prover: str = ""
    """A proven wasm step: the image ID of the guest that proves it (wasm-exec), which its receipt names."""

    @classmethod
    def of(cls, defn: ActivityDefinition, options: ProveOptions | None = None) -> StepPlan:
        proven_wasm = options is not None and defn.runtime in activities.PROVABLE
        return cls(
            defn,
            defn.model_dump_json(),
            options.model_dump_json() if options else None,
            defn.limits.model_dump_json(),
            defn.capabilities.model_dump_json(),
            zk.load_guest(zk.WASM_GUEST).image_id if proven_wasm else "",
        )

    def key(self, input_digest: str, secrets: str) -> str:
        """What decides this step's output on an input with this digest: the module, the input, the limits, the
        grants, the secrets' digest and, for a proof, the receipt kind and segment size, and for a proven wasm step
        the guest that proves it (another Loom's wasm-exec makes receipts of another image ID)."""
        parts = (
            self.defn.blob,
            input_digest,
            self.limits_json,
            self.capabilities_json,
            secrets,
            self.options_json or "",
        )
        return _key(*parts, self.prover) if self.prover else _key(*parts)

    @property
    def reaches_web(self) -> bool:
        """A step granted loom_http is served from the cache only if its spec gives a time-to-live
        (``cache: {ttl_s: N}``): what a server answers can change."""
        return HostFunction.loom_http in self.defn.capabilities.host_functions

    @property
    def batched(self) -> bool:
        """Proofs take minutes: each goes to a worker alone; anything else may share a round trip."""
        return self.defn.runtime is not Runtime.risc0 and self.options_json is None


@dataclass(frozen=True, slots=True)
class Launch:
    """How a step starts: its journal record, and either its output (``skipped`` or ``cached``: done at once) or
    the job a worker runs (``running``)."""

    record: NewAttempt
    output: Any = None
    job: Job | None = None


class RunState:
    """Where a run stands: steps waiting on others, ready, running (by the future of their batch), waiting to
    retry, and done (their outputs form the context later steps render from)."""

    def __init__(self, spec: PipelineSpec, document: Any, deps: dict[str, set[str]]) -> None:
        self.deps = deps
        self.order = {name: i for i, name in enumerate(spec.steps)}
        self.dependents: dict[str, list[str]] = {name: [] for name in spec.steps}
        for name, needs in deps.items():
            for need in needs:
                self.dependents[need].append(name)
        self.context: dict[str, Any] = {"input": document, "steps": {}}
        self.waiting = {name: set(needs) for name, needs in deps.items()}
        self.ready: list[str] = []
        self.running: dict[Future[list[WorkerResult]], tuple[Launch, ...]] = {}
        self.delayed: list[tuple[float, str]] = []  # a heap of (monotonic time, step)
        self.skipped: set[str] = set()
        self.attempts: dict[str, int] = {}  # the last attempt number of each step
        self.executed = self.cached = 0
        self.failure: str | None = None

    def resumed(self, attempts: list[Attempt], load: Callable[[str | None], Any]) -> list[Attempt]:
        """Takes in what the journal holds of this run (on resume): the attempt numbers used, and the steps done,
        with their outputs; then the steps that wait on nothing are ready. Returns the done steps' attempts."""
        done = {}
        for attempt in attempts:
            self.attempts[attempt.step] = max(self.attempts.get(attempt.step, 0), attempt.attempt)
            if attempt.status in DONE:
                done[attempt.step] = attempt
        for step in done:
            del self.waiting[step]
        for step, attempt in done.items():
            self.finish(step, load(attempt.output_blob), skipped=attempt.status == StepStatus.SKIPPED)
        self._release([name for name, needs in self.waiting.items() if not needs])
        return list(done.values())

    def _release(self, steps: list[str]) -> None:
        for step in steps:
            del self.waiting[step]
        self.ready.extend(steps)

    def finish(self, step: str, output: Any, *, skipped: bool = False) -> None:
        """A step is done: its dependents that wait on nothing else become ready."""
        self.context["steps"][step] = {"output": output}
        if skipped:
            self.skipped.add(step)
        for dependent in self.dependents[step]:
            needs = self.waiting.get(dependent)
            if needs is not None:
                needs.discard(step)
                if not needs:
                    self._release([dependent])

    def take_ready(self) -> list[str]:
        """The ready steps, in the pipeline's order, and those due for a retry."""
        now = time.monotonic()
        while self.delayed and self.delayed[0][0] <= now:
            self.ready.append(heapq.heappop(self.delayed)[1])
        ready, self.ready = sorted(self.ready, key=self.order.__getitem__), []
        return ready

    def next_attempt(self, step: str) -> int:
        self.attempts[step] = self.attempts.get(step, 0) + 1
        return self.attempts[step]

    def retry(self, step: str, delay: float) -> None:
        heapq.heappush(self.delayed, (time.monotonic() + delay, step))

    def until_retry(self) -> float | None:
        """Seconds until the next retry is due; None when none is waiting."""
        return max(0.0, self.delayed[0][0] - time.monotonic()) if self.delayed else None


# --- the runner -----------------------------------------------------------------------------------------------


class Runner:
    def __init__(
        self,
        *,
        blobs: BlobStore | None = None,
        registry: ActivityRegistry | None = None,
        journal: Journal | None = None,
        workers: int = 2,
        secrets: SecretProvider | None = None,
        cluster: str | None = None,
    ) -> None:
        """``cluster``, a Ray address, runs the steps as tasks on that cluster (``pipeline.flow._cluster_pool``);
        the journal and the blob store stay here."""
        self.blobs = blobs or default_blobstore()
        self._registry = registry
        self.journal = journal or default_journal()
        self.workers = workers
        self.secrets = secrets or default_secrets()
        self.cluster = cluster
        if cluster:
            zk.connect_cluster(cluster)  # an unreachable cluster or a missing extra fails now, not mid-run
        self._secrets_key = private_key(self.journal.path.parent / "secrets-digest.key") or secrets_module.token_bytes(
            32
        )
        # Workers kept between runs: spawning them costs more than a thousand small steps. Closed with the runner.
        self._idle: list[Workers] = []
        weakref.finalize(self, close_all, self._idle)

    @property
    def registry(self) -> ActivityRegistry:
        """Opened when first needed: reading the journal (``loom runs list``) never depends on the registry file."""
        if self._registry is None:
            self._registry = default_registry()
        return self._registry

    def run(
        self,
        spec: PipelineSpec,
        document: Any,
        *,
        no_cache: bool = False,
        events: Events | None = None,
        started: Callable[[str], None] | None = None,
    ) -> RunResult:
        """Validates the pipeline against its input, then runs it to completion with the activity versions resolved
        now (the journal keeps the spec with those versions pinned, for resume). ``started`` is told the run's ID
        once it is journaled, before any step runs (a service answers with it and lets the run go on)."""
        definitions = self._validate(spec, document)
        pinned = spec.model_copy(
            update={
                "steps": {
                    name: step.model_copy(update={"activity": definitions[name].ref})
                    for name, step in spec.steps.items()
                }
            }
        )
        run_id = self.journal.start_run(spec.name, pinned.model_dump_json(), self.blobs.put(_encoded_input(document)))
        lock = self.journal.lock(run_id)
        lock.acquire()
        try:
            if started is not None:
                started(run_id)
            return self._execute(run_id, pinned, document, no_cache, events)
        finally:
            lock.release()

    def resume(self, run_id: str, *, events: Events | None = None) -> RunResult:
        """Continues a run from its journal: finished steps are kept, the rest run now. Refused while the run is
        live in another process."""
        run = self.journal.run(run_id)
        if run is None:
            raise errors.InvalidInput(f"no run {run_id} in {self.journal.path}")
        if run.status == RunStatus.SUCCEEDED:  # nothing left to do: nothing executed or served now
            return self.outcome(run_id).model_copy(update={"executed": 0, "cached": 0})
        lock = self.journal.lock(run_id)
        if not lock.acquire():
            raise errors.RunInProgress(
                f"run {run_id} is still running in another process; resume it once that process has ended"
            )
        try:
            self.journal.interrupt_attempts(run_id)
            self.journal.reopen_run(run_id)
            spec = PipelineSpec.model_validate_json(run.spec)
            document = self._load(run.input_blob)
            self._validate(spec, document)
            return self._execute(run_id, spec, document, False, events)
        finally:
            lock.release()

    def outcome(self, run_id: str) -> RunResult:
        """A finished run as its journal has it: status, error, counts and, when it succeeded, the output with its
        provenance (worked out as the run did, from the spec and the pinned activities' runtimes)."""
        run = self.journal.run(run_id)
        if run is None:
            raise errors.InvalidInput(f"no run {run_id} in {self.journal.path}")
        attempts = self.journal.attempts(run_id)
        done = {a.step: a for a in attempts if a.status in DONE}
        counts = {
            "executed": sum(a.status == StepStatus.SUCCEEDED for a in done.values()),
            "cached": sum(a.status == StepStatus.CACHED for a in done.values()),
        }
        if run.status != RunStatus.SUCCEEDED:
            return RunResult(run_id=run_id, status=run.status, error=run.error, **counts)
        output = self._load(run.output_blob)
        spec = PipelineSpec.model_validate_json(run.spec)
        template = spec.output if spec.output is not None else default_template(list(spec.steps))
        definitions = {step: self.registry.resolve(spec.steps[step].activity) for step in done}
        outputs = {step: self._load(a.output_blob) for step, a in done.items()}
        skipped = {step for step, a in done.items() if a.status == StepStatus.SKIPPED}
        return RunResult(
            run_id=run_id,
            status=run.status,
            output=output,
            **counts,
            **_provenance(spec, template, output, definitions, outputs, skipped),
        )

    def _resolve(self, spec: PipelineSpec) -> dict[str, ActivityDefinition]:
        """Each activity reference once (a shipped one is registered on first use)."""
        return {
            ref: activities.resolve(self.registry, self.blobs, ref) for ref in {s.activity for s in spec.steps.values()}
        }

    def _validate(self, spec: PipelineSpec, document: Any) -> dict[str, ActivityDefinition]:
        """Everything that can be checked before a step runs: references, the input fields they read, the
        activities (resolved once, per step) and that no step raises its activity's limits."""
        spec.dependencies()
        templates = [s.input for s in spec.steps.values()] + [s.when for s in spec.steps.values()] + [spec.output]
        for ref in references(templates):
            if ref.startswith("input"):
                lookup({"input": document}, ref)  # a missing input field fails before any step runs
        resolved = self._resolve(spec)
        definitions = {name: resolved[step.activity] for name, step in spec.steps.items()}
        for name, step in spec.steps.items():
            runtime = definitions[name].runtime
            if step.prove and runtime is not Runtime.risc0 and runtime not in activities.PROVABLE:
                raise errors.InvalidInput(
                    f"step {name}: prove applies to risc0, assemblyscript and wasm activities, and "
                    f"{definitions[name].ref} is a {runtime.value} one"
                )
            if step.limits and not step.limits.within(definitions[name].limits):
                raise errors.InvalidInput(
                    f"step {name}: its limits {step.limits.model_dump()} exceed those "
                    f"{definitions[name].ref} was registered with "
                    f"{definitions[name].limits.model_dump()}; a step may only lower them"
                )
        return definitions

    def _load(self, digest: str | None) -> Any:
        return None if digest is None else json.loads(self.blobs.get(digest))

    def _execute(
        self, run_id: str, spec: PipelineSpec, document: Any, no_cache: bool, events: Events | None
    ) -> RunResult:
        deps = spec.dependencies()
        definitions = self._resolve(spec)
        pool = self._borrow_workers()
        pool.events = events
        try:
            result = _Execution(
                self, run_id, spec, document, no_cache, events, pool, self._plans(spec, definitions)
            ).drive(RunState(spec, document, deps))
        except BaseException as exc:  # a bug or Ctrl-C: the run is over, and the journal must say so
            pool.close(kill=True)
            self.journal.finish_run(run_id, RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}".strip())
            raise
        pool.events = None
        if isinstance(pool, ClusterWorkers) or self._idle:  # another run's pool was parked meanwhile: one is enough
            pool.close()
        else:
            self._idle.append(pool)
        return result

    def _borrow_workers(self) -> Workers | ClusterWorkers:
        """The idle pool if its workers suit this run: spawned with the environment of now (not before a secret or
        LOOM_HOME changed), by this thread. A new pool otherwise (also for a run started while another one uses
        the pool). On a cluster, the cluster's workers."""
        if self.cluster:
            return ClusterWorkers(self.cluster, self.blobs)
        try:
            pool = self._idle.pop()
        except IndexError:
            return Workers(self.workers)
        if (
            pool.environment == os.environ
            and pool.owner in (None, threading.current_thread())
            and pool.processes == self.workers
        ):
            return pool
        pool.close()
        close_all(self._idle)
        return Workers(self.workers)

    def _plans(self, spec: PipelineSpec, definitions: dict[str, ActivityDefinition]) -> dict[str, StepPlan]:
        """Each step's plan, made once for the steps that share an activity, limits and proof options."""
        plans: dict[tuple[Any, ...], StepPlan] = {}
        by_step = {}
        for name, step in spec.steps.items():
            key = (step.activity, step.limits, step.prove)
            if key not in plans:
                defn = definitions[step.activity]
                if step.limits:
                    defn = defn.model_copy(update={"limits": step.limits})
                plans[key] = StepPlan.of(defn, step.prove)
            by_step[name] = plans[key]
        return by_step


class _Execution:
    """One run being driven: launches the ready steps, hands their jobs to the workers in batches, journals what
    comes back (the steps that finished together in one transaction) and retries what may pass."""

    def __init__(
        self,
        runner: Runner,
        run_id: str,
        spec: PipelineSpec,
        document: Any,
        no_cache: bool,
        events: Events | None,
        pool: Workers | ClusterWorkers,
        plans: dict[str, StepPlan],
    ) -> None:
        self.runner, self.journal, self.blobs = runner, runner.journal, runner.blobs
        self.run_id, self.spec, self.no_cache, self.pool, self.plans = run_id, spec, no_cache, pool, plans
        self.emit: Events = events or (lambda *_: None)
        self._null: str | None = None  # the blob of a skipped step's output
        self._secrets: dict[tuple[str, ...], str] = {}  # digests of granted secrets, read once per run

    def drive(self, state: RunState) -> RunResult:
        for attempt in state.resumed(self.journal.attempts(self.run_id), self.runner._load):
            self.emit(attempt.step, Event(attempt.status), {"resumed": True})
        try:
            while state.failure is None:
                if ready := state.take_ready():
                    self._start(state, ready)  # steps served at once (cache, skipped) may make others ready
                    continue
                if not state.running:
                    if not state.delayed:
                        break
                    time.sleep(state.until_retry() or 0.0)
                    continue
                finished, _ = wait(state.running, timeout=state.until_retry(), return_when=FIRST_COMPLETED)
                self._record(state, finished)
        except errors.LoomError as exc:
            state.failure = str(exc)
        if state.running:  # after a failure: record what was in flight
            self._record(state, list(state.running), after_failure=True)
        return self._finish(state)

    def _finish(self, state: RunState) -> RunResult:
        def failed(error: str) -> RunResult:
            self.journal.finish_run(self.run_id, RunStatus.FAILED, error=error)
            return RunResult(
                run_id=self.run_id, status=RunStatus.FAILED, error=error, executed=state.executed, cached=state.cached
            )

        if state.failure:
            return failed(state.failure)
        template = self.spec.output if self.spec.output is not None else default_template(list(self.spec.steps))
        try:
            output = render(template, state.context)
        except errors.LoomError as exc:
            return failed(f"output: {exc}")
        self.journal.finish_run(self.run_id, RunStatus.SUCCEEDED, output_blob=self.blobs.put(canonical(output)))
        definitions = {name: plan.defn for name, plan in self.plans.items()}
        outputs = {name: step["output"] for name, step in state.context["steps"].items()}
        return RunResult(
            run_id=self.run_id,
            status=RunStatus.SUCCEEDED,
            output=output,
            executed=state.executed,
            cached=state.cached,
            **_provenance(self.spec, template, output, definitions, outputs, state.skipped),
        )

    def _start(self, state: RunState, steps: list[str]) -> None:
        """Launches steps: their attempts are journaled in one transaction, then the jobs go to the workers."""
        launches = [self._launch(state, step) for step in steps]
        self.journal.begin_attempts(self.run_id, [launch.record for launch in launches])
        jobs: list[Launch] = []
        for launch in launches:
            record = launch.record
            if launch.job is None:
                state.finish(record.step, launch.output, skipped=record.status == StepStatus.SKIPPED)
                state.cached += record.status == StepStatus.CACHED
                self.emit(record.step, Event(record.status), {})
            else:
                jobs.append(launch)
                self.emit(record.step, Event.STARTED, {"attempt": record.attempt, "activity": record.activity})
        self._submit(state, jobs)

    def _launch(self, state: RunState, step: str) -> Launch:
        """How a step starts: skipped, served from the cache, or as a job for a worker."""
        spec_step, plan = self.spec.steps[step], self.plans[step]
        attempt, ref = state.next_attempt(step), plan.defn.ref
        if state.deps[step] & state.skipped or (spec_step.when and not render(spec_step.when, state.context)):
            if self._null is None:
                self._null = self.blobs.put(b"null")
            return Launch(NewAttempt(step, attempt, ref, StepStatus.SKIPPED, output_blob=self._null))
        try:
            document = render(spec_step.input, state.context, limit=plan.defn.max_input_bytes)
        except errors.InvalidInput as exc:
            raise errors.InvalidInput(f"step {step}: {exc} ({ref})") from None
        input_digest = hashlib.sha256(canonical(document)).hexdigest()
        granted = plan.defn.capabilities.secrets
        if granted not in self._secrets:
            self._secrets[granted] = secrets_digest(granted, self.runner.secrets, self.runner._secrets_key)
        key = plan.key(input_digest, self._secrets[granted])
        ttl = spec_step.cache.ttl_s if spec_step.cache else None
        served = not self.no_cache and (ttl is not None or not plan.reaches_web)
        hit = self.journal.cached(key, max_age_s=ttl) if served else None
        if hit and (cached := self._cached(hit)) is not None:
            return Launch(NewAttempt(step, attempt, ref, StepStatus.CACHED, key, input_digest, hit), output=cached[0])
        job = Job(step, plan.defn_json, document, plan.options_json)
        return Launch(NewAttempt(step, attempt, ref, StepStatus.RUNNING, key, input_digest), job=job)

    def _cached(self, digest: str) -> tuple[Any] | None:
        """A cached output, or None: a cache entry whose blob is gone or damaged is a miss (the step runs again and
        its output repairs the blob), never a failure of every later run."""
        try:
            return (self.runner._load(digest),)
        except (errors.BlobNotFound, errors.BlobCorrupted, ValueError):
            return None

    def _submit(self, state: RunState, launches: list[Launch]) -> None:
        """Proofs one by one; other steps in batches, about four per worker when many are ready at once (a batch
        runs its steps one after another, and is journaled when it returns)."""
        shared = [launch for launch in launches if self._batched(launch)]
        alone = [(launch,) for launch in launches if not self._batched(launch)]
        size = min(MAX_BATCH, max(1, len(shared) // (self.pool.processes * 4)))
        for batch in alone + [tuple(shared[i : i + size]) for i in range(0, len(shared), size)]:
            future = self.pool.submit(tuple(launch.job for launch in batch))  # type: ignore[misc]
            state.running[future] = batch

    def _batched(self, launch: Launch) -> bool:
        """A retry runs alone: a step that kills its worker takes no other step's attempts with it."""
        return launch.record.attempt == 1 and self.plans[launch.record.step].batched

    def _record(self, state: RunState, finished: Any, *, after_failure: bool = False) -> None:
        """Journals the steps of finished batches in one transaction, then moves the run on: outputs into the
        context, failures that may pass to a retry, any other failure to the end of the run."""
        done: list[tuple[NewAttempt, WorkerResult]] = []
        for future in finished:
            batch = state.running.pop(future)
            results = batch_results(future, len(batch))
            done += [(launch.record, result) for launch, result in zip(batch, results, strict=True)]
        self.journal.end_attempts(
            self.run_id,
            [
                AttemptEnd(
                    record.step,
                    record.attempt,
                    StepStatus.SUCCEEDED,
                    output_blob=result.output_blob,
                    cache_key=record.cache_key,
                )
                if isinstance(result, Succeeded)
                else AttemptEnd(
                    record.step, record.attempt, StepStatus.FAILED, error_type=result.type, error=result.message
                )
                for record, result in done
            ],
        )
        self.journal.record_http(
            self.run_id, [HttpRequest(step=record.step, **r) for record, result in done for r in result.http]
        )
        self.journal.record_logs(
            self.run_id,
            [
                LogLine(step=record.step, attempt=record.attempt, level=level, text=text)
                for record, result in done
                for level, text in result.logs
            ],
        )
        if after_failure:
            return
        for record, result in done:
            step, attempt = record.step, record.attempt
            if isinstance(result, Succeeded):
                state.executed += 1
                output = self.runner._load(result.output_blob) if result.output is None else json.loads(result.output)
                state.finish(step, output)
                self.emit(step, Event.SUCCEEDED, {"attempt": attempt})
                continue
            policy = self.spec.steps[step].retry
            if result.retryable and attempt < policy.max_attempts:
                delay = policy.delay(attempt + 1, random.random())
                state.retry(step, delay)
                self.emit(step, Event.RETRYING, {"attempt": attempt, "delay_s": delay, "error": result.message})
            elif state.failure is None:
                state.failure = f"step {step} failed: {result.type}: {result.message}"
                self.emit(step, Event.FAILED, {"attempt": attempt, "error": result.message})


def _encoded_input(document: Any) -> bytes:
    """The run's input as it is journaled; what JSON cannot hold (a lone surrogate, a cycle) is bad input."""
    try:
        return canonical(document)
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise errors.InvalidInput(f"the run's input is not a JSON document: {exc}") from None
