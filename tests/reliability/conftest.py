"""The pipeline the reliability tests run: one echo step, its output as the run's."""

from __future__ import annotations

from pathlib import Path

import pytest

PIPELINE = "name: p\nsteps:\n  a:\n    activity: echo\n    input: ${input}\noutput:\n  v: ${steps.a.output}\n"


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(PIPELINE)
    return path
