"""An output that cannot be written costs nothing: ``--out /dev/full`` is one line, a file is written whole or not
at all, and a made receipt is kept in the blob store whatever happens to ``--out`` (a proof can take an hour)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support import HELLO_INPUT, loom, one_error_line


def test_an_activity_output_to_a_full_device_is_one_line() -> None:
    proc = loom("activity", "run", "echo", "--input", "{}", "--out", "/dev/full")
    assert proc.returncode == 2 and "No space left on device" in one_error_line(proc)


def test_an_output_file_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text("old")
    assert loom("activity", "run", "echo", "--input", '{"a": 1}', "--out", str(out)).returncode == 0
    assert json.loads(out.read_text())["echo"] == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary left beside it


def test_a_receipt_whose_out_fails_is_kept(tmp_path: Path) -> None:
    proc = loom("zk", "prove", "hello", "--input", json.dumps(HELLO_INPUT), "--dev-mode", "--out", "/dev/full")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]  # after dev mode's warnings
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    line = errors[0]
    kept = re.search(r"the receipt is kept at (\S+)$", line)
    assert "No space left on device" in line and kept, line
    verified = loom("zk", "verify", kept.group(1), "--guest", "hello", "--allow-dev-mode", "--json")
    assert verified.returncode == 0, verified.stderr
