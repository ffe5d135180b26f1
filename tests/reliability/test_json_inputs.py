"""What no JSON reader but Python's takes is refused wherever a document comes in: NaN and the Infinities, nesting
past the parser's stack, lone UTF-16 surrogates; each on one line (exit 2), and an output that holds one fails its
step once, never retried as if it might pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import errors
from pipeline.activities import register_module
from pipeline.core import parse_json
from pipeline.flow import PipelineSpec, Runner
from pipeline.store import default_journal
from tests.support import loom, one_error_line
from tests.support.wat import rust_abi_module


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": Infinity}', "Infinity is not a JSON number"),
        ("[-Infinity]", "-Infinity is not a JSON number"),
        ('{"a": 1e999}', "1e999 is too large for a double"),
        ("[-2.5E+400]", "-2.5E+400 is too large for a double"),
        ('{"a": "\\ud800"}', "lone UTF-16 surrogate (\\ud800)"),
        ('["\\udfff\\ud800"]', "lone UTF-16 surrogate (\\udfff)"),
    ],
)
def test_what_is_not_json_is_refused_by_run_and_activity_run(pipeline: Path, document: str, problem: str) -> None:
    for args in [["run", str(pipeline)], ["activity", "run", "echo"]]:
        proc = loom(*args, "--input", document)
        assert proc.returncode == 2, (args, proc.stderr)
        assert problem in one_error_line(proc), args


def test_a_surrogate_pair_is_text(pipeline: Path) -> None:
    proc = loom("activity", "run", "echo", "--input", '{"a": "\\ud83d\\ude00"}')
    assert proc.returncode == 0, proc.stderr
    assert "\U0001f600" in proc.stdout


def test_deep_json_is_one_line(pipeline: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    for args in [["run", str(pipeline)], ["activity", "run", "echo"]]:
        proc = loom(*args, "--input", f"@{deep}")
        assert proc.returncode == 2, (args, proc.stderr)
        assert "nested too deeply" in one_error_line(proc)


def test_the_strict_reader_names_what_it_read() -> None:
    assert parse_json(b'{"a": [1, 2.5, "\\u00e9"]}', "x") == {"a": [1, 2.5, "é"]}
    with pytest.raises(errors.InvalidOutput, match=r"^the thing is not UTF-8 \(byte 1: 0xff\)$"):
        parse_json(b'"\xff"', "the thing", errors.InvalidOutput)


def test_an_output_with_a_lone_surrogate_fails_its_step_once(built: Path) -> None:
    text = '\\"\\\\ud800\\"'  # the 8 bytes "\ud800" as a WAT data string
    module = rust_abi_module("(i64.const 68719476744)", data=text)  # 16 << 32 | 8: the data at offset 16
    register_module(module, name="surrogate", version="1.0.0", runtime="wasm")
    spec = PipelineSpec.model_validate({"name": "p", "steps": {"a": {"activity": "surrogate@1.0.0"}}})
    result = Runner().run(spec, {})
    assert result.status == "failed" and "lone UTF-16 surrogate" in (result.error or "")
    attempts = default_journal().attempts(result.run_id)
    assert [(a.attempt, a.error_type) for a in attempts] == [(1, "InvalidOutput")]


def test_a_run_input_with_a_lone_surrogate_is_bad_input(built: Path) -> None:
    spec = PipelineSpec.model_validate({"name": "p", "steps": {"a": {"activity": "echo", "input": "${input}"}}})
    with pytest.raises(errors.InvalidInput, match="not a JSON document"):
        Runner().run(spec, {"a": "\ud800"})
