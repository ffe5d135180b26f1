"""The proving sessions' worker: one long-lived thread that takes sessions from the sessions file, oldest first, and
proves (or only executes) each, here or on a Ray cluster.

Every accepted session is in the file before the client hears its ID, so a server that starts finds every session
an earlier one left unfinished (queued, or cut short mid-proof by ``kill -9``) and runs it; a session ends once
(``ProvingSessions.finish`` changes only a running one: a session stopped meanwhile stays aborted).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from pipeline import errors, zk
from pipeline.core import ReceiptKind
from pipeline.store import BlobStore, ProvingSessions, Session, SessionStatus

log = logging.getLogger("loom.serve")

_PHASE_STATE = {
    zk.ProvingPhase.SEGMENT: "ProveSegments",
    zk.ProvingPhase.LIFT: "Recursion",
    zk.ProvingPhase.JOIN: "RecursionJoin",
    zk.ProvingPhase.RESOLVE: "Resolve",
}
"""Loom's proving phases as Bonsai names a session's state."""


class SessionWorker:
    """Runs the sessions of ``sessions`` on one thread, proving with ``cluster`` when given."""

    def __init__(self, sessions: ProvingSessions, blobs: BlobStore, cluster: str | None = None) -> None:
        self.sessions = sessions
        self.blobs = blobs
        self.cluster = cluster
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name="loom-sessions", daemon=True)

    def start(self) -> None:
        """Takes up what the file says is waiting (an earlier server's too), then what ``submit`` adds."""
        for name in self.sessions.waiting():
            self._queue.put(name)
        self._thread.start()

    def submit(self, name: str) -> None:
        self._queue.put(name)

    def close(self) -> None:
        """Stops taking sessions; one being proven is left running in the file, so the next server proves it."""
        self._queue.put(None)

    def _serve(self) -> None:
        while (name := self._queue.get()) is not None:
            if not self.sessions.start(name):
                continue  # stopped while it waited, or run before
            session = self.sessions.session(name)
            assert session is not None
            try:
                self._run(session)
            except errors.LoomError as exc:
                self.sessions.finish(name, SessionStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # a failure Loom did not expect: the session fails, the server goes on
                log.exception("session %s failed", name)
                self.sessions.finish(name, SessionStatus.FAILED, error=f"internal error ({type(exc).__name__})")

    def _run(self, session: Session) -> None:
        image = self.sessions.image(session.image_id)
        kind_and_blob = self.sessions.upload_kind(session.input)
        if image is None or kind_and_blob is None or kind_and_blob[1] is None:
            raise errors.InvalidInput("the session's image or input was deleted before it ran")
        elf, stdin = self.blobs.get(image), self.blobs.get(kind_and_blob[1])
        assumptions = [zk.Receipt.from_bytes(self.blobs.get(self._receipt_blob(a))) for a in session.assumptions]
        max_cycles = None if session.cycle_limit is None else session.cycle_limit * 1_000_000
        self.sessions.progress(session.uuid, "Executor", "executing")
        execution = zk.execute(elf, stdin, max_cycles=max_cycles)
        stats = {
            "segments": execution.segments,
            "total_cycles": execution.total_cycles,
            "user_cycles": execution.user_cycles,
        }
        line = (
            f"executed: {execution.total_cycles:,} cycles ({execution.user_cycles:,} user), exit {execution.exit_code}"
        )
        self.sessions.progress(session.uuid, "Executor", line)
        if session.execute_only:
            journal = self.blobs.put(execution.journal)
            self.sessions.finish(session.uuid, SessionStatus.SUCCEEDED, journal_blob=journal, **stats)
            return
        proof = zk.prove(
            elf,
            stdin,
            kind=ReceiptKind.succinct,
            max_cycles=max_cycles,
            assumptions=assumptions,
            cluster=self.cluster,
            progress=self._progress(session.uuid),
        )
        receipt = self.blobs.put(proof.receipt.to_bytes())
        journal = self.blobs.put(proof.receipt.journal)
        stats["segments"] = proof.execution.segments
        self.sessions.finish(session.uuid, SessionStatus.SUCCEEDED, receipt_blob=receipt, journal_blob=journal, **stats)
        log.info("session %s proven: %d segments", session.uuid, proof.execution.segments)

    def _receipt_blob(self, name: str) -> str:
        found = self.sessions.upload_kind(name)
        if found is None or found[1] is None:
            raise errors.InvalidInput(f"assumption {name}: no such receipt was uploaded")
        return found[1]

    def _progress(self, name: str) -> Callable[[zk.ProvingPhase, int, int], None]:
        said: set[zk.ProvingPhase] = set()

        def report(phase: zk.ProvingPhase, done: int, total: int) -> None:
            state = f"{_PHASE_STATE.get(phase, phase)}: {done}/{total}"
            line = None
            if phase not in said:
                said.add(phase)
                line = f"{phase}: {total} to do"
            self.sessions.progress(name, state, line)

        return report
