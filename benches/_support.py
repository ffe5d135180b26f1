"""Helpers shared by the benchmark suites (each compares Loom with its reference in the same run)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest

from pipeline import zk
from pipeline.core import risc0_host_binary

HOST_BIN = risc0_host_binary()


def peak_rss_mib(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Runs ``cmd`` to completion; returns its own peak resident memory (MiB, from wait4) and its stdout."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed with exit code {proc.returncode}")
    return usage.ru_maxrss / 1024, out


def sha_chain(rounds: int) -> dict[str, object]:
    """sha-chain's input: a workload that grows one hash per round."""
    return {"rounds": rounds, "seed": "loom"}


def fewest_rounds(enough: Callable[[zk.Execution], bool], po2: int) -> int:
    """The fewest sha-chain rounds whose execution in segments of 2^po2 is ``enough`` (which only ever turns true
    as rounds grow): doubling, then bisection, so a few executions find it."""
    guest = zk.load_guest("sha-chain")

    def run(rounds: int) -> zk.Execution:
        return zk.execute(guest.elf, sha_chain(rounds), segment_limit_po2=po2)

    low, high = 0, 1
    while not enough(run(high)):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(run(mid)) else (mid, high)
    return high


def rounds_for(segments: int, po2: int) -> int:
    """The fewest sha-chain rounds that execute into ``segments`` segments of 2^po2."""
    return fewest_rounds(lambda e: e.segments >= segments, po2)


def rounds_filling(po2: int) -> int:
    """The fewest sha-chain rounds whose execution is one segment of exactly 2^po2 cycles (smaller ones are padded
    to the next power of two, so the segment costs what its size costs). Skips the benchmark where there is none:
    each segment pays for paging its memory in and out, so at small sizes the shortest run is already several."""
    rounds = fewest_rounds(lambda e: e.total_cycles >= 2**po2, po2)
    info = zk.execute(zk.load_guest("sha-chain").elf, sha_chain(rounds), segment_limit_po2=po2)
    if (info.segments, info.total_cycles) != (1, 2**po2):
        pytest.skip(
            f"sha-chain has no run of one full 2^{po2} segment on this circuit: its shortest that fills 2^{po2} "
            f"cycles is {info.segments} segments ({info.paging_cycles:,} of {info.total_cycles:,} cycles paging)"
        )
    return rounds
