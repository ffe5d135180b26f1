"""A step's input is measured while it is built, against what its activity accepts: a template that names one
large output many times (shared as an object, or copied into strings) fails its step on one line before the runner
holds what it describes (it once took 6 GiB and the OOM killer)."""

from __future__ import annotations

import pytest

from pipeline import errors
from pipeline.flow import PipelineSpec, Runner
from pipeline.flow._spec import render

BIG = "x" * (4 << 20)  # echo's output holds it: 4 MiB


@pytest.mark.parametrize(
    "template",
    [
        ["${steps.a.output}"] * 200,  # 200 references to one object
        {"text": "${steps.a.output.echo} and " * 200},  # 200 copies into one string
        {f"k{i}": "<${steps.a.output.echo}>" for i in range(200)},  # 200 strings
    ],
    ids=["objects", "one-string", "many-strings"],
)
def test_an_input_that_would_outgrow_its_activity_fails_its_step(built, template) -> None:
    spec = PipelineSpec.model_validate(
        {
            "name": "p",
            "steps": {"a": {"activity": "echo", "input": "${input}"}, "b": {"activity": "echo", "input": template}},
        }
    )
    result = Runner().run(spec, BIG)
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("step b: the input it builds has over ")


def test_the_budget_counts_what_the_document_will_hold() -> None:
    context = {"input": "é" * 10, "steps": {}}
    assert render(["${input}", "${input}"], context, limit=40) == ["é" * 10] * 2  # 2 x 20 bytes of UTF-8
    with pytest.raises(errors.InvalidInput, match="over 39 bytes"):
        render(["${input}", "${input}"], context, limit=39)
    assert render("a ${input} b", context, limit=None) == "a " + "é" * 10 + " b"
