"""Every file and stream Loom reads has a bound, checked while reading: a FIFO, a device, an endless pipe or a huge
file is refused on one line that names it, in seconds and in little memory, never read until the OOM killer comes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import errors, tlsn
from pipeline.tlsn import _verify
from tests.support import FIXTURES, GOLDEN_NOTARY_KEY, loom, one_error_line

FAST = 60  # seconds: every refusal here comes long before it


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def _input_commands(pipeline: Path, source: str) -> list[list[str]]:
    return [
        ["run", str(pipeline), "--input", source],
        ["activity", "run", "echo", "--input", source],
        ["zk", "execute", "hello", "--input", source],
    ]


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_an_input_file_that_is_not_a_regular_file_is_refused_at_once(kind: str, fifo: Path, pipeline: Path) -> None:
    source = "@/dev/zero" if kind == "device" else f"@{fifo}"
    for args in _input_commands(pipeline, source):
        proc = loom(*args, timeout=FAST)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "is not a regular file" in one_error_line(proc)


def test_an_endless_standard_input_stops_at_the_bound(pipeline: Path) -> None:
    for args in _input_commands(pipeline, "@-"):
        with subprocess.Popen(["yes"], stdout=subprocess.PIPE) as endless:
            proc = subprocess.run(
                [sys.executable, "-m", "pipeline", *args],
                stdin=endless.stdout,
                capture_output=True,
                text=True,
                timeout=FAST,
                check=False,
            )
            endless.kill()
        assert proc.returncode == 2, (args, proc.stderr)
        assert "standard input" in one_error_line(proc) and "67,108,864" in proc.stderr


def test_a_pipeline_file_that_is_a_fifo_is_refused(fifo: Path) -> None:
    proc = loom("run", str(fifo), "--input", "{}", timeout=FAST)
    assert proc.returncode == 2 and "is not a regular file" in one_error_line(proc)


def test_presentations_keys_and_roots_that_are_devices_or_fifos_are_refused(fifo: Path) -> None:
    presentation = str(FIXTURES / "tlsn" / "presentation.bin")
    key = ["--notary-key", GOLDEN_NOTARY_KEY]
    for args in [
        ["tlsn", "verify", "/dev/zero", *key],
        ["tlsn", "verify", str(fifo), *key],
        ["tlsn", "verify", presentation, "--notaries", "/dev/zero"],
        ["tlsn", "verify", presentation, "--notaries", str(fifo)],
        ["tlsn", "verify", presentation, *key, "--root", "/dev/zero"],
        ["zk", "verify", "/dev/zero", "--image-id", "00" * 32],
        ["zk", "verify", str(fifo), "--image-id", "00" * 32],
        ["activity", "register", "/dev/zero", "--name", "z", "--version", "1.0.0", "--runtime", "wasm"],
    ]:
        proc = loom(*args, timeout=FAST)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "is not a regular file" in one_error_line(proc), args


def test_huge_files_are_refused_on_their_size_before_any_byte_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge"
    with open(huge, "wb") as file:
        file.truncate(500 << 20)  # sparse: 500 MB that take no disk
    for args, what in [
        (["tlsn", "verify", str(huge), "--notary-key", GOLDEN_NOTARY_KEY], "presentation file"),
        (["zk", "verify", str(huge), "--image-id", "00" * 32], "receipt file"),
        (["activity", "run", "echo", "--input", f"@{huge}"], "input file"),
        (["run", str(huge), "--input", "{}"], "pipeline file"),
    ]:
        proc = loom(*args, timeout=FAST)
        line = one_error_line(proc)
        assert proc.returncode == 2 and what in line and "524,288,000 bytes" in line, (args, line)


@pytest.mark.parametrize("wrap", [lambda hex_: hex_, lambda hex_: f'{{"version": "0.1.0-alpha.14", "data": "{hex_}"}}'])
def test_hex_is_measured_before_it_is_decoded(monkeypatch: pytest.MonkeyPatch, wrap) -> None:
    monkeypatch.setattr(_verify, "MAX_PRESENTATION_BYTES", 1024)
    with pytest.raises(errors.InvalidInput, match="encodes 2,048 bytes; a presentation has at most 1,024"):
        tlsn.load_presentation(wrap("ab" * 2048).encode())


def test_a_tlsn_js_file_with_non_ascii_meta_is_read_as_json() -> None:
    presentation = (FIXTURES / "tlsn" / "presentation.bin").read_bytes()
    wrapped = json.dumps(
        {"version": "0.1.0-alpha.14", "data": presentation.hex(), "meta": {"notaryUrl": "https://nötary.例え.jp"}},
        ensure_ascii=False,
    ).encode()
    loaded = tlsn.load_presentation(b"\n  " + wrapped)
    assert loaded.encoding == "tlsn-js-json" and loaded.data == presentation
    assert loaded.meta is not None and loaded.meta.notary_url == "https://nötary.例え.jp"
    with pytest.raises(errors.InvalidInput, match="JSON that is not UTF-8"):
        tlsn.load_presentation(b'{"version": "\xff"}')
