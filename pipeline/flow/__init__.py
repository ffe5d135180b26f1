"""Pipelines: specs (named steps wired by references), the durable runner (journal, cache, retries, resume) on a
pool of local worker processes or a Ray cluster, and the provenance of what a run outputs."""

from pipeline.flow._provenance import (
    Provenance,
    Source,
    StepOrigin,
    StepReceipt,
    ValuePath,
    classify,
    default_template,
    dotted,
    value_at,
)
from pipeline.flow._runner import Runner, RunResult
from pipeline.flow._spec import (
    REF,
    PipelineSpec,
    RetryPolicy,
    StepSpec,
    load_pipeline,
    lookup,
    references,
    render,
)
from pipeline.flow._workers import Event, Events, StepEvent

__all__ = [
    "REF",
    "Event",
    "Events",
    "PipelineSpec",
    "Provenance",
    "RetryPolicy",
    "RunResult",
    "Runner",
    "Source",
    "StepEvent",
    "StepOrigin",
    "StepReceipt",
    "StepSpec",
    "ValuePath",
    "classify",
    "default_template",
    "dotted",
    "load_pipeline",
    "lookup",
    "references",
    "render",
    "value_at",
]
