"""A fresh data dir opened by many processes at once (two `loom run`s started together on a new machine): every
one of them gets the journal and the registry; none sees a half-written file as damaged, and none is refused
because another was still setting the file up."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from pipeline.store import ActivityRegistry, Journal

FORK = multiprocessing.get_context("fork")  # cheap enough for many rounds: the race is narrow
PROCESSES = 3
ROUNDS = 150


def _open(kind: str, path: str, start: Any, results: Any) -> None:
    try:
        start.wait(timeout=60)
        if kind == "journal":
            Journal(Path(path)).runs()
        else:
            ActivityRegistry(Path(path)).list()
        results.put("ok")
    except Exception as exc:  # what the test reports
        results.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("kind", ["journal", "registry"])
def test_many_processes_open_a_new_file_at_once(tmp_path: Path, kind: str) -> None:
    outcomes: list[str] = []
    for round_ in range(ROUNDS):
        path = tmp_path / f"{round_}.sqlite"
        start, results = FORK.Barrier(PROCESSES), FORK.Queue()
        procs = [FORK.Process(target=_open, args=(kind, str(path), start, results)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        outcomes += [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
    assert outcomes == ["ok"] * (PROCESSES * ROUNDS), [o for o in outcomes if o != "ok"]
