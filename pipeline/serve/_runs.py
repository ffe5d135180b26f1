"""Pipeline runs started over HTTP: only pipelines the server was given (a folder of YAML files, by name), run by a
few long-lived threads, each with its own ``Runner`` over the data dir the CLI uses.

The threads live as long as the server: a runner's worker processes die with the thread that started them
(``PR_SET_PDEATHSIG``), so runs never start on a pool's short-lived threads. A run is journaled before the request is
answered, and noted in the server's sessions file until it ends: one cut short by a stopped or killed server is
resumed from its journal when the next server starts on the same data dir (runs the CLI started are left alone).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import errors
from pipeline.flow import Runner, load_pipeline
from pipeline.serve._models import PIPELINE_NAME
from pipeline.store import ProvingSessions, RunStatus, default_journal

log = logging.getLogger("loom.serve")


@dataclass(frozen=True)
class _Start:
    path: Path
    document: Any
    no_cache: bool
    started: Future[str]


@dataclass(frozen=True)
class _Resume:
    run_id: str


class RunQueue:
    """Runs pipelines from ``folder`` on ``threads`` threads; ``start`` returns the run's ID once it is journaled.
    ``served`` keeps the IDs of the runs it started until they end."""

    def __init__(self, folder: Path | None, served: ProvingSessions, threads: int = 1, workers: int = 2) -> None:
        self.folder = folder
        self.served = served
        self.workers = workers
        self._jobs: queue.Queue[_Start | _Resume | None] = queue.Queue()
        self._free = threading.Semaphore(threads)  # a run is refused, never queued behind a long one
        self._threads = [
            threading.Thread(target=self._serve, name=f"loom-run-{i}", daemon=True) for i in range(threads)
        ]
        for t in self._threads:
            t.start()

    def pipeline(self, name: str) -> Path:
        """The file of pipeline ``name``: a plain name, looked up only in the server's folder."""
        if self.folder is None:
            raise errors.InvalidInput("this server runs no pipelines: start it with --pipelines DIR")
        if not PIPELINE_NAME.fullmatch(name):
            raise errors.InvalidInput(f"pipeline {name[:80]!r}: a name is letters, digits, '.', '_' or '-'")
        for suffix in (".yaml", ".yml"):
            path = self.folder / f"{name}{suffix}"
            if path.is_file():
                return path
        raise errors.NotFound(f"no pipeline {name!r} is served (the files of {self.folder})")

    def start(self, name: str, document: Any, *, no_cache: bool = False, wait_s: float = 60.0) -> str:
        """Queues a run; its ID once the run is journaled, or the error that stopped it from starting (a bad spec,
        an input that does not validate, a missing activity)."""
        path = self.pipeline(name)
        load_pipeline(path)  # a broken file is refused now, not on a worker thread
        if not self._free.acquire(blocking=False):
            raise errors.ServiceBusy(f"all {len(self._threads)} run threads are busy: try again when a run ends")
        started: Future[str] = Future()
        self._jobs.put(_Start(path, document, no_cache, started))
        try:
            return started.result(timeout=wait_s)
        except TimeoutError:
            raise errors.ServiceBusy(
                f"the run did not start within {wait_s:.0f} s; it may still: see /v1/runs"
            ) from None

    def resume_cut_short(self) -> list[str]:
        """Queues a resume of each run this server's predecessors started and did not end (their process is gone),
        oldest first, each as a run thread frees up; returns their IDs. Called once, by the server that owns the
        sessions file."""
        journal = default_journal()
        cut_short = []
        for run_id in self.served.unended_runs():
            run = journal.run(run_id)
            if run is None or run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
                self.served.run_ended(run_id)  # ended, or resumed to its end by the CLI
            elif run.status == RunStatus.INTERRUPTED:
                cut_short.append(run_id)
            # RUNNING: a live `loom runs resume` holds it; a later server looks again if that process dies
        if cut_short:
            threading.Thread(target=self._feed, args=(cut_short,), name="loom-resume", daemon=True).start()
        return cut_short

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)

    def _feed(self, run_ids: Iterable[str]) -> None:
        for run_id in run_ids:
            self._free.acquire()  # waits for a thread: these were accepted before anything asked now
            self._jobs.put(_Resume(run_id))

    def _serve(self) -> None:
        runner: Runner | None = None
        while (job := self._jobs.get()) is not None:
            try:
                runner = runner or Runner(workers=self.workers)  # made by a job: a damaged journal is its error
                if isinstance(job, _Start):
                    self._start(runner, job)
                else:
                    self._resume(runner, job.run_id)
            except Exception as exc:  # reported to the request that is waiting, or logged
                if isinstance(job, _Start) and not job.started.done():
                    job.started.set_exception(exc)
                else:
                    what = f"a run of {job.path.name}" if isinstance(job, _Start) else f"run {job.run_id}"
                    log.error("%s stopped: %s: %s", what, type(exc).__name__, exc)
            finally:
                self._free.release()

    def _start(self, runner: Runner, job: _Start) -> None:
        def journaled(run_id: str) -> None:
            self.served.run_started(run_id)
            job.started.set_result(run_id)

        result = runner.run(load_pipeline(job.path), job.document, no_cache=job.no_cache, started=journaled)
        self.served.run_ended(result.run_id)  # not reached when the run raised: the next server resumes it
        log.info("run %s of %s: %s", result.run_id, job.path.stem, result.status)

    def _resume(self, runner: Runner, run_id: str) -> None:
        try:
            result = runner.resume(run_id)
        except errors.RunInProgress:
            log.info("run %s is being resumed by another process", run_id)
            return
        except Exception as exc:  # not resumable here (an activity removed, the input's blob lost): said once
            log.error(
                "run %s was not resumed: %s: %s (see `loom runs resume %s`)", run_id, type(exc).__name__, exc, run_id
            )
        else:
            log.info("run %s resumed: %s", run_id, result.status)
        self.served.run_ended(run_id)
