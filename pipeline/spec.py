"""Pipeline specs: named steps, each one activity, wired together by references.

References: ``${input.a.b}`` reads the pipeline's input, ``${steps.NAME.output.a.0}`` an earlier step's output
(dot paths; numbers index arrays). A string that is exactly one reference becomes the referenced value, whatever
its type; references inside a longer string are interpolated as text. ``when: ${steps.x.output.ok}`` runs a step
only when the referenced value is truthy. Steps that reference each other form the DAG; the rest run in parallel.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline import errors
from pipeline.models import Limits

REF = re.compile(r"\$\{([^}]*)\}")
_PATH = re.compile(r"^(input|steps\.[a-z][a-z0-9_-]*\.output)(\.[^.\s]+)*$")


class RetryPolicy(BaseModel):
    """Retries for failures that may pass (timeouts, crashed workers); deterministic failures never retry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=3, ge=1, le=20)
    backoff_s: float = Field(default=0.5, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    max_backoff_s: float = Field(default=30.0, ge=0)
    jitter: float = Field(default=0.2, ge=0, le=1, description="fraction of the delay added at random")

    def delay(self, attempt: int, rand: float) -> float:
        """Seconds to wait before ``attempt`` (2, 3, ...), with ``rand`` in [0, 1) for the jitter."""
        base = min(self.max_backoff_s, self.backoff_s * self.multiplier ** (attempt - 2))
        return base * (1 + self.jitter * rand)


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    activity: str = Field(description="NAME or NAME@VERSION in the registry")
    input: Any = None
    when: str | None = None
    limits: Limits | None = None
    retry: RetryPolicy = RetryPolicy()

    @field_validator("when")
    @classmethod
    def _when(cls, v: str | None) -> str | None:
        if v is not None and not REF.fullmatch(v.strip()):
            raise ValueError("when must be a single reference, e.g. ${steps.check.output.ok}")
        return v


class PipelineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    steps: dict[str, StepSpec]
    output: Any = None

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: dict[str, StepSpec]) -> dict[str, StepSpec]:
        if not v:
            raise ValueError("a pipeline needs at least one step")
        for name in v:
            if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
                raise ValueError(f"step name {name!r} must be lowercase letters, digits, '-' or '_'")
        return v

    def dependencies(self) -> dict[str, set[str]]:
        """Each step's prerequisites, from its references; refuses unknown steps, bad references and cycles."""
        deps: dict[str, set[str]] = {}
        for name, step in self.steps.items():
            deps[name] = set()
            for ref in references([step.input, step.when]):
                if not _PATH.match(ref):
                    raise errors.InvalidInput(f"step {name}: bad reference ${{{ref}}} "
                                              "(use ${input.PATH} or ${steps.NAME.output.PATH})")
                if ref.startswith("steps."):
                    target = ref.split(".")[1]
                    if target not in self.steps:
                        raise errors.InvalidInput(f"step {name} references step {target!r}, which does not exist")
                    if target == name:
                        raise errors.InvalidInput(f"step {name} references its own output")
                    deps[name].add(target)
        for ref in references([self.output]):
            if ref.startswith("steps.") and ref.split(".")[1] not in self.steps:
                raise errors.InvalidInput(f"output references step {ref.split('.')[1]!r}, which does not exist")
        _check_acyclic(deps)
        return deps


def _check_acyclic(deps: dict[str, set[str]]) -> None:
    done: set[str] = set()
    while len(done) < len(deps):
        ready = [s for s in deps if s not in done and deps[s] <= done]
        if not ready:
            raise errors.InvalidInput(f"steps depend on each other in a cycle: {sorted(set(deps) - done)}")
        done.update(ready)


def references(values: Any) -> list[str]:
    """Every ``${...}`` reference inside a template (strings, lists, dicts, nested)."""
    found: list[str] = []
    if isinstance(values, str):
        found.extend(m.strip() for m in REF.findall(values))
    elif isinstance(values, dict):
        for v in values.values():
            found.extend(references(v))
    elif isinstance(values, list):
        for v in values:
            found.extend(references(v))
    return found


_MISSING = object()


def lookup(context: dict[str, Any], ref: str) -> Any:
    """The value at a reference in ``{"input": ..., "steps": {name: {"output": ...}}}``."""
    node: Any = context
    for key in ref.split("."):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise errors.InvalidInput(f"reference ${{{ref}}}: no {key!r} there")
    return node


def render(template: Any, context: dict[str, Any]) -> Any:
    """Substitutes references in a template with values from ``context``."""
    if isinstance(template, str):
        whole = REF.fullmatch(template.strip())
        if whole:
            return lookup(context, whole.group(1).strip())
        return REF.sub(lambda m: _as_text(lookup(context, m.group(1).strip())), template)
    if isinstance(template, dict):
        return {k: render(v, context) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, context) for v in template]
    return template


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def load_pipeline(path: Path) -> PipelineSpec:
    """Reads a YAML pipeline; errors name the file, the line and the problem."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise errors.InvalidInput(f"cannot read pipeline {path}: {exc.strerror}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise errors.InvalidInput(f"{path}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    try:
        spec = PipelineSpec.model_validate(data)
        spec.dependencies()
        return spec
    except ValidationError as exc:
        first = exc.errors()[0]
        line = _line_of(node, first["loc"])
        where = ".".join(str(p) for p in first["loc"])
        raise errors.InvalidInput(f"{path}: line {line}: {where}: {first['msg']}") from None
    except errors.InvalidInput as exc:
        raise errors.InvalidInput(f"{path}: {exc}") from None


def _line_of(node: Any, loc: tuple) -> int:
    """The YAML line of the deepest node along ``loc`` (1-based)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(key)), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line
