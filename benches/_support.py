"""Helpers shared by the benchmark suites (each compares Loom with its reference in the same run)."""

from __future__ import annotations

import os
import subprocess

from pipeline.home import risc0_host_binary

HOST_BIN = risc0_host_binary()


def peak_rss_mib(cmd: list[str]) -> tuple[float, str]:
    """Runs ``cmd`` to completion; returns its own peak resident memory (MiB, from wait4) and its stdout."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed with exit code {proc.returncode}")
    return usage.ru_maxrss / 1024, out
