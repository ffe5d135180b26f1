"""Hostile pipeline files: each is refused quickly with one line naming the file, the line and the problem."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipeline import errors
from pipeline.flow._spec import MAX_BYTES, MAX_DEPTH, PipelineSpec, load_pipeline

STEP = "name: p\nsteps:\n  a:\n    activity: echo\n"


def refusal(path: Path, seconds: float = 10) -> str:
    """The one-line InvalidInput that loading ``path`` gives, within ``seconds`` (a hang fails, not blocks)."""
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            load_pipeline(path)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"loading {path.name} took more than {seconds}s"
    exc = outcome[0]
    assert isinstance(exc, errors.InvalidInput), f"expected InvalidInput, got {exc!r}"
    message = str(exc)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message


def test_billion_laughs_is_refused_at_the_first_anchor(pipeline_file) -> None:
    lol = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    path = pipeline_file(f"{STEP}    input:\n" + "".join("      " + line + "\n" for line in lol.splitlines()))
    assert len(path.read_bytes()) < 600
    message = refusal(path)
    assert "line 6:" in message and "anchors and aliases" in message


def test_a_single_alias_is_refused_and_says_why(pipeline_file) -> None:
    path = pipeline_file(f"{STEP}    input: &x {{v: 1}}\n  b:\n    activity: echo\n    input: *x\n")
    assert "line 5:" in refusal(path)
    path = pipeline_file("name: p\nsteps:\n  a: {activity: echo}\n  b: {activity: echo, input: *x}\n")
    message = refusal(path)  # an alias without an anchor is refused for the same reason, not as a YAML error
    assert "line 4:" in message and "not needed" in message


def test_duplicate_step_names_the_key_and_both_lines(pipeline_file) -> None:
    path = pipeline_file(f"{STEP}  b:\n    activity: echo\n  a:\n    activity: other\n")
    message = refusal(path)
    assert "line 7:" in message and "duplicate key 'a'" in message and "line 3" in message


@pytest.mark.parametrize(
    "body",
    [
        "    input: {x: 1, y: 2, x: 3}\n",
        "    input:\n      - {k: 1}\n      - k: 2\n        k: 3\n",
        "    activity: again\n",
    ],
)
def test_duplicate_keys_are_refused_in_any_mapping(pipeline_file, body: str) -> None:
    assert "duplicate key" in refusal(pipeline_file(STEP + body))


def test_the_same_key_in_different_mappings_is_fine(pipeline_file) -> None:
    spec = load_pipeline(pipeline_file(f"{STEP}    input: {{x: {{x: 1}}}}\n  b:\n    activity: echo\n"))
    assert spec.steps["a"].input == {"x": {"x": 1}}


def test_a_binary_file_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(STEP.encode() + b"    input: \xff\xfe\x00\x01\n")
    message = refusal(path)
    assert "line 5:" in message and "UTF-8" in message and f"offset {len(STEP) + 11}" in message


BLOCKS = STEP + "    input:\n" + "".join(" " * (6 + 2 * i) + f"k{i}:\n" for i in range(200))


@pytest.mark.parametrize("text", ["[" * 10_000, STEP + "    input: " + "[" * 10_000 + "]" * 10_000 + "\n", BLOCKS])
def test_deep_nesting_is_refused_with_its_line(pipeline_file, text: str) -> None:
    message = refusal(pipeline_file(text))
    assert f"deeper than {MAX_DEPTH}" in message and ": line " in message


def test_nesting_up_to_the_bound_loads(pipeline_file) -> None:
    inner = MAX_DEPTH - 3  # the file's mapping, steps, a: three levels before the input
    spec = load_pipeline(pipeline_file(f"{STEP}    input: {'[' * inner}1{']' * inner}\n"))
    assert spec.steps["a"].input is not None
    assert "deeper" in refusal(pipeline_file(f"{STEP}    input: {'[' * (inner + 1)}1{']' * (inner + 1)}\n"))


def test_an_oversized_file_gives_its_size(pipeline_file) -> None:
    path = pipeline_file(STEP + "    input: '" + "x" * MAX_BYTES + "'\n")
    message = refusal(path)
    assert f"{path.stat().st_size:,}" in message and f"{MAX_BYTES:,}" in message


def test_control_characters_are_one_line_with_the_line(pipeline_file) -> None:
    message = refusal(pipeline_file(STEP + "    input: \x07\n"))
    assert "line 5" in message and "not valid YAML" in message


def test_an_overlong_integer_is_refused(pipeline_file) -> None:
    message = refusal(pipeline_file(STEP + "    input: " + "9" * 5000 + "\n"))
    assert "line 5:" in message and "5000 digits" in message


def test_dates_stay_strings_and_non_json_tags_are_refused(pipeline_file) -> None:
    spec = load_pipeline(pipeline_file(STEP + "    input: {day: 2024-01-31}\n"))
    assert spec.steps["a"].input == {"day": "2024-01-31"}
    for value in ["!!binary aGVsbG8=", "!!set {x}", "!!timestamp 2024-01-31"]:
        assert "not a JSON value" in refusal(pipeline_file(STEP + f"    input: {value}\n"))


def test_a_directory_is_refused(tmp_path: Path) -> None:
    assert "is not a regular file" in refusal(tmp_path)


@pytest.mark.parametrize("ref", ["foo", "steps.a.outputx", "steps.a", "input..x", "steps.a.output.x y"])
def test_malformed_output_references_fail_before_any_step(pipeline_file, ref: str) -> None:
    path = pipeline_file(STEP + f"output: {{v: '${{{ref}}}'}}\n")
    assert "bad reference" in refusal(path)
    spec = PipelineSpec.model_validate({"name": "p", "steps": {"a": {"activity": "echo"}}, "output": [f"${{{ref}}}"]})
    with pytest.raises(errors.InvalidInput, match="output: bad reference"):
        spec.dependencies()


def test_well_formed_output_references_still_load(pipeline_file) -> None:
    path = pipeline_file(STEP + "output: {all: '${steps.a.output}', x: 'at ${input.x.0}, ${steps.a.output.y}'}\n")
    assert load_pipeline(path).dependencies() == {"a": set()}
