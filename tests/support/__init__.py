"""What tests share that is not a fixture: running the CLI the way a user does."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline import zk
from pipeline.core import SAMPLE_NOTARY_KEY, cache_dir, risc0_host_binary
from pipeline.store import DONE, Attempt, Journal

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
"""Upstream data the tests use (TLSNotary's presentation, handshakes, test PKI, HTTP messages): see its NOTICE."""
GOLDEN_NOTARY_KEY = SAMPLE_NOTARY_KEY
"""The key of the notary that signed TLSNotary's golden presentation (compressed secp256k1)."""
GOLDEN_TIME = 1671637529
"""The golden presentation's session time."""
BACKENDS = ["native", "wasm"]
"""The two ways Loom runs the TLSNotary verifier: natively, and as the tlsn-verify wasm activity."""

HELLO_INPUT = {"words": [7, 35]}
"""`hello`'s input where a test needs one: dev-mode and cluster proofs, risc0's Rust-made reference receipt. (The
session's own real proof, the `hello_receipt` fixture, is of another input: its journal differs.)"""
DEFAULT_TIMEOUT = 600
"""Seconds a CLI call may take before the test fails (a real proof of the flagship takes ~11 minutes: it says so)."""


def loom(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = DEFAULT_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``loom ARGS...`` in a process of its own (this interpreter's package), with the environment plus ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        input=input,
        check=False,
    )


def done_attempts(journal: Journal, run_id: str) -> dict[str, Attempt]:
    """The finished attempt of each step that is done (succeeded, served from cache, or skipped)."""
    return {a.step: a for a in journal.attempts(run_id) if a.status in DONE}


def claim_input(**fields: object) -> dict[str, object]:
    """The input of the notarized pipelines (``examples/``) for the golden presentation: ``bazz == 123``."""
    presentation = (FIXTURES / "tlsn" / "presentation.bin").read_bytes()
    return {
        "presentation": base64.b64encode(presentation).decode(),
        "notary_key": GOLDEN_NOTARY_KEY,
        "server": "tlsnotary.org",
        "path": "bazz",
        "op": "eq",
        "value": 123,
        **fields,
    }


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single line a refusal prints on stderr (asserting it is one line, with no traceback)."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def rust_made_receipt(guest: zk.Guest, document: object) -> bytes:
    """A composite receipt from risc0's own Rust prover (benches/risc0-host). It is a test's input, not what it
    tests, so it is kept under the cache dir, named by everything that makes it (the prover, the guest, the input and
    the arguments); a fresh machine or a changed prover makes it anew. The prover is named by the digest of its
    sources that make records beside it (the binary's own bytes differ from clone to clone), else by those bytes."""
    host_bin = risc0_host_binary()
    assert host_bin.is_file(), f"{host_bin} is missing: run `make setup`"
    stdin = zk.encode_input(document)
    args = ["composite", "17", "1"]
    sources = Path(f"{host_bin}.sources")
    prover = sources.read_bytes() if sources.is_file() else host_bin.read_bytes()
    key = hashlib.sha256()
    for part in (prover, guest.elf, stdin, " ".join(args).encode()):
        key.update(hashlib.sha256(part).digest())
    kept = cache_dir() / "test-receipts" / f"risc0-rust-{key.hexdigest()}.receipt"
    if not kept.is_file():
        kept.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=kept.parent) as work:
            (Path(work) / "input").write_bytes(stdin)
            out = Path(work) / "receipt"
            subprocess.run(
                [str(host_bin), "prove", str(guest.path), str(Path(work) / "input"), *args, str(out)],
                check=True,
                capture_output=True,
            )
            out.replace(kept)
    return kept.read_bytes()


def reuse_home(name: str, home: Path) -> None:
    """Starts the data dir ``home`` as a copy of the one a proving test kept under $LOOM_CACHE/test-homes (if any),
    so that Loom's step cache serves the proof while nothing that makes it has changed."""
    kept = cache_dir() / "test-homes" / name
    if kept.is_dir():
        shutil.copytree(kept, home, symlinks=True)


def keep_home(name: str, home: Path) -> None:
    """Keeps the data dir of a run that proved something for the next session (``reuse_home``), replacing the old."""
    kept = cache_dir() / "test-homes" / name
    staged = kept.with_name(f"{kept.name}.{os.getpid()}")
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(home, staged, symlinks=True)
    shutil.rmtree(kept, ignore_errors=True)
    staged.rename(kept)
