"""A guest's words are untrusted text: a RISC Zero guest's panic (hello's serde message quotes its input) and
whatever it writes on its stdout or stderr never reach the terminal raw, from ``loom zk execute`` or ``loom run``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import loom, one_error_line

HOSTILE = {"\x1b[31mred\x1b]0;title\x07": 1}  # serde names an unknown field as it is: `...`, not escaped


def test_a_guest_panic_is_shown_as_text(tmp_path: Path) -> None:
    source = tmp_path / "input.json"
    source.write_text(json.dumps(HOSTILE, ensure_ascii=False))
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("name: p\nsteps:\n  a:\n    activity: hello\n    input: ${input}\n")
    for args in [["zk", "execute", "hello"], ["run", str(pipeline)]]:
        proc = loom(*args, "--input", f"@{source}")
        assert proc.returncode == 1, (args, proc.stderr)
        assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr and "\x1b" not in proc.stdout, args
        assert "panicked at" not in proc.stderr  # the guest's own stderr ("thread 'main' panicked at ...") is dropped
        assert "\\x1b[31mred" in proc.stderr, proc.stderr
    assert "\\x1b[31mred" in one_error_line(loom("zk", "execute", "hello", "--input", f"@{source}"))
