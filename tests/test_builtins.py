"""The activities Loom ships resolve on a fresh data dir: a pipeline or `loom activity run` that names one registers
it on first use; anything else is still unknown."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipeline import activities, errors
from pipeline.activities import register_module
from pipeline.core import artifact
from pipeline.flow import PipelineSpec, Runner
from pipeline.store import default_blobstore, default_registry

PICK = PipelineSpec.model_validate(
    {
        "name": "pick",
        "steps": {"pick": {"activity": "json-pick", "input": {"document": {"a": [1, 2]}, "paths": ["a.1"]}}},
        "output": "${steps.pick.output}",
    }
)


def test_a_pipeline_runs_a_shipped_activity_with_nothing_registered() -> None:
    assert default_registry().list() == []
    result = Runner(workers=1).run(PICK, {})
    assert result.output == {"a.1": 2}
    assert [d.name for d in default_registry().list()] == ["json-pick"]  # only what was asked for


def test_the_cli_runs_a_shipped_activity_on_a_fresh_data_dir() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "activity",
            "run",
            "json-pick",
            "--input",
            '{"document": {"a": [1, 2]}, "paths": ["a.0"]}',
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"a.0": 1}


def test_unknown_names_and_versions_stay_unknown() -> None:
    blobs, registry = default_blobstore(), default_registry()
    with pytest.raises(errors.ActivityNotFound, match="no activity not-shipped"):
        activities.resolve(registry, blobs, "not-shipped")
    with pytest.raises(errors.ActivityNotFound, match=r"json-pick@9\.9\.9 \(registered: json-pick@"):
        activities.resolve(registry, blobs, "json-pick@9.9.9")


def test_a_registration_of_the_same_name_wins_over_the_shipped_one() -> None:
    blobs, registry = default_blobstore(), default_registry()
    mine = register_module(
        artifact("wasm/echo.wasm").read_bytes(),
        name="json-pick",
        version="9.0.0",
        runtime="wasm",
        blobs=blobs,
        registry=registry,
    )
    assert activities.resolve(registry, blobs, "json-pick") == mine
    assert registry.list() == [mine]  # the shipped json-pick was not registered beside it
