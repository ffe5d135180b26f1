"""Where each value of a run's output comes from: ``proven`` (a field of a verified receipt's journal, taken by
reference) or ``host`` (anything computed or given outside the zkVM).

The rule is structural, read off the pipeline's ``output:`` template and how each step ran, never off the values: an
activity that outputs something shaped like a risc0 step's output is still a ``host`` step. A value is ``proven``
only when its template is exactly one reference into the ``journal`` of a proven step (a ``risc0`` step, or a wasm
step with ``prove:``, which ran in the ``wasm-exec`` guest); text that
interpolates a proven value is ``host`` (it is new text the host made), and so are the pipeline's input, the
constants of the spec and a risc0 step's receipt metadata (its digest, image ID, kind, cycles), which are facts
about the receipt, not part of what it proves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.core import ReceiptKind, Runtime
from pipeline.flow._spec import REF

ValuePath = tuple[str | int, ...]
"""A place in a JSON value: object keys and array indices, outermost first."""


class Source(StrEnum):
    proven = "proven"
    host = "host"


class Provenance(BaseModel):
    """Where the output value at ``path`` (and everything under it) comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: ValuePath
    source: Source
    step: str | None = None
    journal_path: str | None = None
    """For a proven value: the dot path of the value in the step's journal ("" for the whole journal)."""
    why: str
    """One line for people: which journal field, or what computed the value."""


class StepReceipt(BaseModel):
    """The receipt a proven step made, as the data dir holds it: what backs the step's proven values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    guest: str = Field(description="the activity, NAME@VERSION (for a proven wasm step, the activity it ran)")
    image_id: str
    kind: ReceiptKind
    receipt: str = Field(description="the receipt's digest in the blob store")
    module_sha256: str | None = Field(
        default=None, description="a proven wasm step: the module the wasm-exec guest ran (its journal names it)"
    )


@dataclass(frozen=True, slots=True)
class StepOrigin:
    """What classification needs to know of a step: how it ran (in the zkVM or not), and whether it ran at all."""

    runtime: Runtime
    skipped: bool = False
    prove: bool = False
    """The step has ``prove:`` (a wasm step then runs in the ``wasm-exec`` guest)."""

    @property
    def proven(self) -> bool:
        """It ran in the zkVM: a ``risc0`` step, or a wasm step with ``prove:``."""
        return self.runtime is Runtime.risc0 or self.prove


def dotted(path: ValuePath) -> str:
    """``("claim", "value")`` as people write it: ``claim.value`` (the whole output is ``.``)."""
    return ".".join(str(p) for p in path) or "."


def value_at(value: Any, path: ValuePath) -> tuple[bool, Any]:
    """Whether ``path`` exists in ``value``, and what is there."""
    for key in path:
        if isinstance(value, dict) and isinstance(key, str) and key in value:
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(value):
            value = value[key]
        else:
            return False, None
    return True, value


def default_template(steps: list[str]) -> dict[str, str]:
    """The output of a pipeline without ``output:``: every step's whole output, by step name."""
    return {name: f"${{steps.{name}.output}}" for name in steps}


def classify(template: Any, value: Any, steps: Mapping[str, StepOrigin]) -> list[Provenance]:
    """The provenance of every part of ``value``, the output rendered from ``template``: one entry per leaf of the
    template (a reference, a text, a constant), outermost paths first."""
    found: list[Provenance] = []
    _walk(template, value, (), steps, found)
    return found


def _walk(template: Any, value: Any, path: ValuePath, steps: Mapping[str, StepOrigin], found: list[Provenance]) -> None:
    if template in ({}, []):
        found.append(Provenance(path=path, source=Source.host, why="a constant of the pipeline spec"))
    elif isinstance(template, dict) and isinstance(value, dict):
        for key, sub in template.items():
            _walk(sub, value.get(key), (*path, key), steps, found)
    elif isinstance(template, list) and isinstance(value, list):
        for index, sub in enumerate(template):
            _walk(sub, value[index] if index < len(value) else None, (*path, index), steps, found)
    elif isinstance(template, str) and (whole := REF.fullmatch(template.strip())):
        _reference(whole.group(1).strip(), value, path, steps, found)
    elif isinstance(template, str) and REF.search(template):
        refs = ", ".join(f"${{{m.strip()}}}" for m in REF.findall(template))
        found.append(Provenance(path=path, source=Source.host, why=f"text the host interpolated from {refs}"))
    else:
        found.append(Provenance(path=path, source=Source.host, why="a constant of the pipeline spec"))


def _reference(ref: str, value: Any, path: ValuePath, steps: Mapping[str, StepOrigin], found: list[Provenance]) -> None:
    parts = ref.split(".")
    if parts[0] == "input":
        found.append(Provenance(path=path, source=Source.host, why="the pipeline's input"))
        return
    step, rest = parts[1], parts[3:]  # steps.NAME.output.REST
    origin = steps[step]
    if not origin.proven or origin.skipped:
        why = (
            f"step {step} was skipped, so null"
            if origin.skipped
            else f"computed by step {step} ({origin.runtime.value}), outside the zkVM"
        )
        found.append(Provenance(path=path, source=Source.host, step=step, why=why))
    elif rest and rest[0] == "journal":
        found.append(_proven(path, step, ".".join(rest[1:])))
    elif rest:
        found.append(Provenance(path=path, source=Source.host, step=step, why=_metadata(step, rest[0])))
    else:  # the whole output of a proven step: its journal is proven, the receipt's metadata beside it is not
        for key in value if isinstance(value, dict) else {}:
            if key == "journal":
                found.append(_proven((*path, key), step, ""))
            else:
                found.append(Provenance(path=(*path, key), source=Source.host, step=step, why=_metadata(step, key)))


def _metadata(step: str, key: str) -> str:
    return f"step {step}'s {key}: recorded by the host beside the receipt, not in its journal"


def _proven(path: ValuePath, step: str, journal_path: str) -> Provenance:
    field = f"field {journal_path}" if journal_path else "the whole journal"
    return Provenance(
        path=path,
        source=Source.proven,
        step=step,
        journal_path=journal_path,
        why=f"{field} of step {step}'s receipt",
    )
