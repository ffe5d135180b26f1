"""Pipeline steps as Ray tasks, behind the runner's ``Workers`` seam.

The journal and the blob store stay with the driver: a task gets its activity's module through Ray's object store
(put once per module and run) and its input in the job, and gives back the output and any blob it made (a receipt);
the driver stores them before the runner sees the result, so caching, retries and resume work as they do locally.
A prove step on a node proves its segments on the cluster too, and its progress comes back to the driver through a
queue (a Ray actor) while it runs. Steps granted secrets or host directories do not run on the cluster: neither
leaves the driver's machine.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from pipeline import activities, errors, zk
from pipeline.core import ActivityDefinition, Runtime
from pipeline.flow._workers import INLINE_OUTPUT, Events, Failed, Job, StepEvent, Succeeded, WorkerResult, run_job
from pipeline.store import BlobStore, MemoryBlobStore


class _Recording(MemoryBlobStore):
    """A node's blob store: the modules it was sent, and a record of what its steps put (sent back to the
    driver)."""

    def __init__(self) -> None:
        super().__init__()
        self.made: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        digest = super().put(data)
        self.made[digest] = data
        return digest


class _Reporter:
    """A node's end of the run's progress queue. Progress is for people watching: a queue that is lost (its node
    left the cluster) must not fail the proof, so from then on reports are dropped."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def put(self, event: StepEvent) -> None:
        if self.queue is None:
            return
        try:
            self.queue.put(event, timeout=5)
        except Exception:
            self.queue = None


_node_state: dict[str, Any] = {}


def _run_on_node(address: str, progress: Any, jobs: tuple[Job, ...], digests: tuple[str, ...], *modules: bytes) -> Any:
    """A Ray task: runs a batch of steps on this node; returns each result and the blobs the steps made. A prove
    step's progress goes into ``progress`` (a Ray queue), when the batch has one."""
    if "executors" not in _node_state:
        _node_state["blobs"] = _Recording()
        _node_state["executors"] = activities.Executors(_node_state["blobs"], cluster=address)
        _node_state["definitions"] = {}
    blobs: _Recording = _node_state["blobs"]
    definitions: dict[str, ActivityDefinition] = _node_state["definitions"]
    for digest, module in zip(digests, modules, strict=True):
        if MemoryBlobStore.put(blobs, module) != digest:
            return [Failed("BlobCorrupted", f"module {digest} arrived with other bytes", False)] * len(jobs), {}
    results: list[WorkerResult] = []
    made: dict[str, bytes] = {}
    for job in jobs:
        blobs.made = {}
        defn = definitions.get(job.defn_json) or ActivityDefinition.model_validate_json(job.defn_json)
        definitions[job.defn_json] = defn
        if defn.capabilities.secrets or defn.capabilities.wasi_dirs or defn.capabilities.http:
            results.append(
                Failed(
                    "CapabilityDenied",
                    f"{defn.ref} is granted secrets, host directories or HTTP, which do not leave the driver's "
                    "machine: run it without --cluster",
                    False,
                )
            )
            continue
        reporter = None if progress is None else _Reporter(progress)
        results.append(run_job(job, _node_state["executors"], definitions, reporter))
        made.update(blobs.made)
    return results, made


class ClusterWorkers:
    """Runs batches of steps as Ray tasks on the cluster at ``address``; the driver's ``blobs`` receive what they
    make."""

    def __init__(self, address: str, blobs: BlobStore) -> None:
        self.address, self.blobs = address, blobs
        self.ray = zk.connect_cluster(address)
        self.processes = max(1, int(self.ray.cluster_resources().get("CPU", 1)))
        self.events: Events | None = None
        self._modules: dict[str, Any] = {}  # digest -> the module's object in Ray's store
        self._definitions: dict[str, ActivityDefinition] = {}  # validated once per activity definition (JSON)
        self._task = self.ray.remote(_run_on_node).options(num_cpus=1, max_retries=zk.CLUSTER_RETRIES)
        self._running: list[Any] = []
        self._progress: Any = None  # a Ray queue, made when the run's first prove step is sent
        self._relaying = threading.Lock()  # one reader of the queue at a time, so events keep their order
        self._stop = threading.Event()

    def _progress_queue(self) -> Any:
        """The queue nodes put prove steps' progress into, and a thread that relays it to the run's events."""
        if self._progress is None:
            from ray.util.queue import Queue

            self._progress = Queue(actor_options={"num_cpus": 0})
            threading.Thread(target=self._relay, args=(self._progress,), name="loom-progress", daemon=True).start()
        return self._progress

    def _relay(self, queue: Any) -> None:
        while not self._stop.is_set() and self._deliver(queue, wait=True) is not None:
            pass

    def _deliver(self, queue: Any, *, wait: bool) -> bool | None:
        """Hands the run's events one queued event (waiting a moment for one if ``wait``): whether there was one,
        or None when the queue is gone (the run is over, or Ray shut down)."""
        from ray.util.queue import Empty

        with self._relaying:
            try:
                event = queue.get(timeout=0.2) if wait else queue.get_nowait()
            except Empty:
                return False
            except Exception:
                return None
            if (sink := self.events) is not None:
                sink(event.step, event.event, event.details)
            return True

    def submit(self, jobs: tuple[Job, ...]) -> Future[list[WorkerResult]]:
        for job in jobs:
            if job.defn_json not in self._definitions:
                self._definitions[job.defn_json] = ActivityDefinition.model_validate_json(job.defn_json)
        definitions = [self._definitions[job.defn_json] for job in jobs]
        digests = tuple(sorted({defn.blob for defn in definitions}))
        proving = any(defn.runtime is Runtime.risc0 for defn in definitions)
        for digest in digests:
            if digest not in self._modules:
                self._modules[digest] = self.ray.put(self.blobs.get(digest))
        progress = self._progress_queue() if proving else None
        ref = self._task.remote(self.address, progress, jobs, digests, *(self._modules[d] for d in digests))
        self._running.append(ref)
        done: Future[list[WorkerResult]] = Future()
        # Ray calls back on a thread of its own, which should not wait on Ray: storing (which fetches the queued
        # progress from the queue's actor) happens on another
        ref.future().add_done_callback(
            lambda f: threading.Thread(target=self._store, args=(f, done, len(jobs)), name="loom-results").start()
        )
        return done

    def _store(self, finished: Future[Any], done: Future[list[WorkerResult]], count: int) -> None:
        """Puts what a batch made into the driver's blob store and relays the progress its steps reported (a node
        queued it before the batch returned), then hands the runner its results."""
        if (queue := self._progress) is not None:
            while self._deliver(queue, wait=False):
                pass
        try:
            results, made = finished.result()
            for data in made.values():
                self.blobs.put(data)
            done.set_result(
                [
                    Succeeded(
                        r.output_blob, r.output if r.output and len(r.output) <= INLINE_OUTPUT else None, r.http, r.logs
                    )
                    if isinstance(r, Succeeded)
                    else r
                    for r in results
                ]
            )
        except errors.LoomError as exc:
            done.set_result([Failed(type(exc).__name__, str(exc), exc.retryable)] * count)
        except Exception as exc:  # the task died more often than Ray retries, or its node left the cluster
            done.set_result([Failed("WorkerDied", f"the cluster task failed: {zk.cluster_failure(exc)}", True)] * count)

    def close(self, *, kill: bool = False) -> None:
        """With ``kill`` (the run is being abandoned), cancels the batches still running."""
        if kill:
            for ref in self._running:
                self.ray.cancel(ref, force=True)
        self._running.clear()
        self._stop.set()
        if self._progress is not None:
            self._progress.shutdown()
            self._progress = None
