"""Pipeline runs started over HTTP: only pipelines the server was given (a folder of YAML files, by name), run by a
few long-lived threads, each with its own ``Runner`` over the data dir the CLI uses.

The threads live as long as the server: a runner's worker processes die with the thread that started them
(``PR_SET_PDEATHSIG``), so runs never start on a pool's short-lived threads. A run is journaled before the request is
answered; one cut short by a stopped server is resumed as any other, with ``loom runs resume``.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import errors
from pipeline.flow import Runner, load_pipeline
from pipeline.serve._models import PIPELINE_NAME

log = logging.getLogger("loom.serve")


@dataclass(frozen=True)
class _Job:
    path: Path
    document: Any
    no_cache: bool
    started: Future[str]


class RunQueue:
    """Runs pipelines from ``folder`` on ``threads`` threads; ``start`` returns the run's ID once it is journaled."""

    def __init__(self, folder: Path | None, threads: int = 1, workers: int = 2) -> None:
        self.folder = folder
        self.workers = workers
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
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
        self._jobs.put(_Job(path, document, no_cache, started))
        try:
            return started.result(timeout=wait_s)
        except TimeoutError:
            raise errors.ServiceBusy(
                f"the run did not start within {wait_s:.0f} s; it may still: see /v1/runs"
            ) from None

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)

    def _serve(self) -> None:
        runner = Runner(workers=self.workers)
        while (job := self._jobs.get()) is not None:
            try:
                spec = load_pipeline(job.path)
                result = runner.run(spec, job.document, no_cache=job.no_cache, started=job.started.set_result)
                log.info("run %s of %s: %s", result.run_id, spec.name, result.status)
            except Exception as exc:  # reported to the request that is waiting, or logged
                if not job.started.done():
                    job.started.set_exception(exc)
                else:
                    log.error("a run of %s stopped: %s: %s", job.path.name, type(exc).__name__, exc)
            finally:
                self._free.release()
