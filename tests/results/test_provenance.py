"""Provenance is read off the template and the steps' runtimes, never off the values: only a reference into a risc0
step's journal is proven; interpolated text, inputs, constants, receipt metadata and every other step are host."""

from __future__ import annotations

from typing import Any

from pipeline.core import Runtime
from pipeline.flow import Source, StepOrigin, classify, default_template, dotted, render, value_at

RISC0 = {"journal": {"sum": 42, "nested": {"a": [1, 2]}}, "receipt": "ab" * 32, "image_id": "cd" * 32, "kind": "x"}
# A wasm activity can output exactly what a risc0 step would: that makes nothing it says proven.
LOOKALIKE = dict(RISC0)
STEPS = {
    "prove": StepOrigin(Runtime.risc0),
    "fake": StepOrigin(Runtime.wasm),
    "pick": StepOrigin(Runtime.assemblyscript),
    "off": StepOrigin(Runtime.risc0, skipped=True),
}
CONTEXT: dict[str, Any] = {
    "input": {"x": 1},
    "steps": {
        "prove": {"output": RISC0},
        "fake": {"output": LOOKALIKE},
        "pick": {"output": {"bazz": 123}},
        "off": {"output": None},
    },
}


def sources(template: Any) -> dict[str, tuple[Source, str | None]]:
    output = render(template, CONTEXT)
    entries = classify(template, output, STEPS)
    for entry in entries:  # every entry names a place that exists
        assert value_at(output, entry.path)[0], entry
    return {dotted(e.path): (e.source, e.journal_path) for e in entries}


def test_a_reference_into_a_risc0_journal_is_proven_and_names_the_field() -> None:
    assert sources(
        {
            "sum": "${steps.prove.output.journal.sum}",
            "a1": "${steps.prove.output.journal.nested.a.1}",
            "all": "${steps.prove.output.journal}",
            "spaced": "${ steps.prove.output.journal.sum }",
        }
    ) == {
        "sum": (Source.proven, "sum"),
        "a1": (Source.proven, "nested.a.1"),
        "all": (Source.proven, ""),
        "spaced": (Source.proven, "sum"),
    }


def test_everything_else_is_host() -> None:
    assert sources(
        {
            "text": "the sum is ${steps.prove.output.journal.sum}",  # new text, made by the host
            "input": "${input.x}",
            "constant": 7,
            "string": "hello",
            "empty": {},
            "none": None,
            "receipt": "${steps.prove.output.receipt}",
            "image": "${steps.prove.output.image_id}",
            "lookalike": "${steps.fake.output.journal.sum}",
            "pick": "${steps.pick.output.bazz}",
            "skipped": "${steps.off.output}",
        }
    ) == {
        name: (Source.host, None)
        for name in (
            "text",
            "input",
            "constant",
            "string",
            "empty",
            "none",
            "receipt",
            "image",
            "lookalike",
            "pick",
            "skipped",
        )
    }


def test_nested_templates_are_classified_leaf_by_leaf() -> None:
    assert sources({"a": ["${steps.prove.output.journal.sum}", "${steps.pick.output}"], "b": {"c": "${input}"}}) == {
        "a.0": (Source.proven, "sum"),
        "a.1": (Source.host, None),
        "b.c": (Source.host, None),
    }


def test_a_risc0_steps_whole_output_splits_into_its_journal_and_the_hosts_metadata() -> None:
    template = default_template(["prove", "pick"])
    assert sources(template) == {
        "prove.journal": (Source.proven, ""),
        "prove.receipt": (Source.host, None),
        "prove.image_id": (Source.host, None),
        "prove.kind": (Source.host, None),
        "pick": (Source.host, None),
    }
