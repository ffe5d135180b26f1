"""Pipeline files: malformed YAML and bad fields are reported with the line and the problem."""

from __future__ import annotations

import pytest

from pipeline import errors
from pipeline.flow import load_pipeline


def test_yaml_syntax_error_names_the_line(pipeline_file) -> None:
    path = pipeline_file("name: p\nsteps:\n  a:\n    activity: echo\n    input: {x: [1, 2}\n")
    with pytest.raises(errors.InvalidInput, match=r"line 5.*not valid YAML"):
        load_pipeline(path)


def test_unknown_field_names_the_line_and_field(pipeline_file) -> None:
    path = pipeline_file("name: p\nsteps:\n  a:\n    activity: echo\n    retries: 3\n")
    with pytest.raises(errors.InvalidInput, match=r"line 5: steps.a.retries: Extra inputs are not permitted"):
        load_pipeline(path)


def test_bad_reference_is_refused(pipeline_file) -> None:
    path = pipeline_file("name: p\nsteps:\n  a:\n    activity: echo\n    input: '${stepz.a}'\n")
    with pytest.raises(errors.InvalidInput, match=r"bad reference \$\{stepz.a\}"):
        load_pipeline(path)


def test_example_pipeline_loads(pipeline_file) -> None:
    from pathlib import Path

    spec = load_pipeline(Path(__file__).resolve().parents[2] / "examples" / "http-claim.yaml")
    assert spec.dependencies() == {"parse": set(), "pick": {"parse"}, "prove": {"parse"}}
