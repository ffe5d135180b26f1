"""What no JSON reader but Python's takes is refused wherever a document comes in: NaN and the Infinities, nesting
past the parser's stack, lone UTF-16 surrogates; each on one line (exit 2), and an output that holds one fails its
step once, never retried as if it might pass."""

from __future__ import annotations

import json
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


def _random_json(rng, depth: int = 0) -> object:
    """A random JSON value with what trips readers: escapes, surrogate pairs, big numbers, nesting."""
    kind = rng.random()
    if kind < 0.5 or depth > 6:
        return rng.choice([0, -0.0, 1.5e-300, 1.7976931348623157e308, -(10**50), True, False, None, "", "é\"\\\n\x01",
                           "\U0001f98a", "\u2028", 12345678901234567890])  # fmt: skip
    if kind < 0.75:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["a", "b", "ü", ""]): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def test_the_native_check_says_yes_only_to_what_parse_json_takes() -> None:
    """check_json asks the native module first for large inputs and takes its yes without reading further, so a yes
    must never be given to what parse_json refuses: valid documents and 20,000 mutations of them (bytes overwritten,
    inserted, removed, and the tokens readers disagree on spliced in) are checked by both."""
    import random

    from pipeline import _native
    from pipeline.core._canonical import NATIVE_CHECK_BYTES

    rng = random.Random(35)
    splices = [b"NaN", b"-Infinity", b"1e999", b"-1E+400", b"1e308", b'"\\ud800"', b'"\\udc00\\ud800"', b"\xff",
               b"\xed\xa0\x80", b"01", b"1.", b"\\u12", b"[", b"]", b"{", b"}", b",", b":", b'"', b"\x00",
               b"\xef\xbb\xbf", b"9" * 700, b"[" * 250, b"]" * 250, b"\t", b"\x0b", b" "]  # fmt: skip
    yes = 0
    for n in range(22_000):
        text = json.dumps(_random_json(rng), ensure_ascii=rng.random() < 0.3).encode()
        if n >= 2_000:
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice([*splices, bytes([rng.randrange(256)])]) + text[at + rng.randint(0, 2) :]
        assert len(text) < NATIVE_CHECK_BYTES  # so parse_json reads it itself, whatever the native check says
        try:
            parse_json(text, "input")
            taken = True
        except errors.InvalidInput:
            taken = False
        said = _native.json_valid(text)
        assert taken or not said, text
        yes += said
        if n < 2_000:
            assert said, text  # nothing here is past its depth or integer limits: every valid document is a yes
    assert yes > 2_000


NATIVE_YES = [b"0", b" -1.5e-3 ", b'"a\\u00e9\\ud83e\\udd8a\\n"', b"{}", b"[]", b'{"a": [1, {"b": null}], "a": 1}',
              b"[1e308, 12345678901234567890123]", b"\t\r\n[ ]\n", b"9" * 600,
              b"[" * 200 + b"1" + b"]" * 200]  # fmt: skip
NATIVE_NO = [b"", b" ", b"01", b"1.", b".5", b"-", b"1e", b"+1", b"NaN", b"Infinity", b"[1,]", b'{"a" 1}', b"{,}",
             b"[1 2]", b'"\\ud800"', b'"\\udc00"', b'"\\ud800\\u0041"', b'"a\nb"', b'"\\x"', b"1e999", b"-1e400",
             b"[", b"]", b'{"a":1}}', b"\xef\xbb\xbf1", b"tru", b"nul", b"[1]x", b'"\\u12"', b'"\xff"', b"9" * 601,
             b"[" * 201 + b"1" + b"]" * 201]  # fmt: skip


@pytest.mark.parametrize(("text", "valid"), [(t, True) for t in NATIVE_YES] + [(t, False) for t in NATIVE_NO])
def test_the_native_check_on_what_readers_disagree_about(text: bytes, valid: bool) -> None:
    """A yes only for strict JSON within its limits (integers of 600 digits, nesting 200 deep): past them, and on
    anything malformed, it leaves the verdict to parse_json."""
    from pipeline import _native

    assert _native.json_valid(text) is valid
    if valid:
        parse_json(text, "input")


def test_check_json_refuses_like_parse_json_at_any_size() -> None:
    """A large input goes through the native check, and when it is not plainly valid, parse_json names the
    problem: the same one-line message as for a small one."""
    from pipeline.core import check_json

    filler = json.dumps(list(range(20_000)))
    cases = [('{"a": 1e999, "b": %s}', "1e999 is too large"), ('[%s, "\\ud800"]', "lone UTF-16"),
             ("[%s,]", "is not JSON"), ('{"a": NaN, "b": %s}', "NaN is not a JSON number")]  # fmt: skip
    for document, problem in cases:
        for text in (document % "0", document % filler):
            with pytest.raises(errors.InvalidInput, match=problem):
                check_json(text.encode(), "input")
    check_json(filler.encode(), "input")
