"""The session's mixed pipeline: a host step (the echo activity) feeds a proven one (the hello guest: the session's one
real proof of it), and the output mixes values from the journal with host values. Its bundle is what the tamper tests
alter; its receipt is what the zk tests read and tamper with."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.flow import Event, PipelineSpec, Runner, RunResult
from pipeline.results import bundle_of

MIXED = PipelineSpec.model_validate(
    {
        "name": "mixed",
        "steps": {
            "echo": {"activity": "echo", "input": {"words": "${input.words}"}},
            "prove": {"activity": "hello", "input": {"words": "${steps.echo.output.echo.words}"}},
        },
        "output": {
            "sum": "${steps.prove.output.journal.sum}",
            "count": "${steps.prove.output.journal.count}",
            "words": "${steps.echo.output.echo.words}",
            "sentence": "the sum is ${steps.prove.output.journal.sum}",
            "label": "${input.label}",
            "receipt": "${steps.prove.output.receipt}",
        },
    }
)
MIXED_INPUT = {"words": [1, 2, 3], "label": "mixed"}


@dataclass(frozen=True)
class MixedRun:
    home: Path
    result: RunResult
    bundle: bytes
    events: list[tuple[str, Event, dict[str, Any]]]

    def edited(self, change: Callable[[dict[str, Any]], object]) -> bytes:
        """The bundle after ``change`` edited its JSON in place."""
        data = json.loads(self.bundle)
        change(data)
        return json.dumps(data).encode()


def run_mixed(home: Path) -> MixedRun:
    """Runs the mixed pipeline in the data dir ``home`` (``LOOM_HOME`` must name it) and bundles its result."""
    events: list[tuple[str, Event, dict[str, Any]]] = []
    runner = Runner()
    result = runner.run(MIXED, MIXED_INPUT, events=lambda *event: events.append(event))
    if result.status != "succeeded":
        raise RuntimeError(f"the mixed pipeline failed: {result.error}")
    return MixedRun(home, result, bundle_of(runner, result.run_id).to_bytes(), events)


def receipt_bytes(bundle: bytes, step: str = "prove") -> bytes:
    entry = next(r for r in json.loads(bundle)["receipts"] if r["step"] == step)
    return base64.b64decode(entry["receipt"])
