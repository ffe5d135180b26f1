"""Pipeline specs: named steps, each one activity, wired together by references.

References: ``${input.a.b}`` reads the pipeline's input, ``${steps.NAME.output.a.0}`` an earlier step's output
(dot paths; numbers index arrays). A string that is exactly one reference becomes the referenced value, whatever
its type; references inside a longer string are interpolated as text. ``when: ${steps.x.output.ok}`` runs a step
only when the referenced value is truthy. Steps that reference each other form the DAG; the rest run in parallel.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline import errors
from pipeline.core import Limits, ProveOptions, compact_json, read_bounded, validation_problem

REF = re.compile(r"\$\{([^}]*)\}")
_PATH = re.compile(r"^(input|steps\.[a-z][a-z0-9_-]*\.output)(\.[^.\s]+)*$")
MAX_BYTES = 1 << 20  # a pipeline is a page of YAML; past a megabyte it is an attack or a mistake
MAX_DEPTH = 64  # deeper nesting serves only to exhaust the (recursive) YAML composer


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


class CachePolicy(BaseModel):
    """How long a step's cached output may serve a later run. A step granted loom_http is served from the cache
    only when it says so (what a server answers can change); any other step may also cap the age of what it reuses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ttl_s: int = Field(ge=1, le=366 * 86400, description="seconds a cached output may be reused")


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    activity: str = Field(description="NAME or NAME@VERSION in the registry")
    input: Any = None
    when: str | None = None
    limits: Limits | None = None
    prove: ProveOptions | None = Field(default=None, description="receipt kind and segment size, for risc0 steps")
    retry: RetryPolicy = RetryPolicy()
    cache: CachePolicy | None = Field(
        default=None,
        description="ttl_s: how old a cached output may be to be reused",
        exclude_if=lambda v: v is None,  # absent, a spec reads (and digests) as it did before steps had it
    )

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
                _check_path(f"step {name}", ref)
                if ref.startswith("steps."):
                    target = ref.split(".")[1]
                    if target not in self.steps:
                        raise errors.InvalidInput(f"step {name} references step {target!r}, which does not exist")
                    if target == name:
                        raise errors.InvalidInput(f"step {name} references its own output")
                    deps[name].add(target)
        for ref in references([self.output]):
            _check_path("output", ref)
            if ref.startswith("steps.") and ref.split(".")[1] not in self.steps:
                raise errors.InvalidInput(f"output references step {ref.split('.')[1]!r}, which does not exist")
        _check_acyclic(deps)
        return deps


def _check_path(where: str, ref: str) -> None:
    """One rule for every reference, so a malformed one fails before any step runs, not after all of them."""
    if not _PATH.fullmatch(ref):
        raise errors.InvalidInput(
            f"{where}: bad reference ${{{ref}}} (use ${{input.PATH}} or ${{steps.NAME.output.PATH}})"
        )


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


def render(template: Any, context: dict[str, Any], limit: int | None = None) -> Any:
    """Substitutes references in a template with values from ``context``. With a ``limit``, the document's JSON may
    have at most that many bytes, counted while it is built: a template that names one large output many times
    (a reference is shared, an interpolation copied) is refused before it takes the memory it describes."""
    return _render(template, context, _Budget(limit))


def _render(template: Any, context: dict[str, Any], budget: _Budget) -> Any:
    if isinstance(template, str):
        whole = REF.fullmatch(template.strip())
        if whole:
            return budget.spend(lookup(context, whole.group(1).strip()))
        budget.spend_bytes(len(template))
        return REF.sub(lambda m: _as_text(budget.spend(lookup(context, m.group(1).strip()))), template)
    if isinstance(template, dict):
        budget.spend_bytes(sum(len(k) for k in template))
        return {k: _render(v, context, budget) for k, v in template.items()}
    if isinstance(template, list):
        return [_render(v, context, budget) for v in template]
    return template


_V = TypeVar("_V")


class _Budget:
    """What a document being built may still take, in bytes of its JSON; each value of the context is measured once
    (by identity, which is stable while the context lives: the same output named twice is measured once, counted
    twice)."""

    def __init__(self, limit: int | None) -> None:
        self.left, self._sizes = limit, dict[int, int]()
        self.limit = limit

    def spend(self, value: _V) -> _V:
        if self.left is not None:
            size = self._sizes.get(id(value))
            if size is None:
                size = len(value.encode()) if isinstance(value, str) else len(compact_json(value).encode())
                self._sizes[id(value)] = size
            self.spend_bytes(size)
        return value

    def spend_bytes(self, size: int) -> None:
        if self.left is not None:
            self.left -= size
            if self.left < 0:
                raise errors.InvalidInput(f"the input it builds has over {self.limit:,} bytes, more than it accepts")


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else compact_json(value)


class _Refused(Exception):
    """A file refused while reading it, with the 1-based line (and column) when there is one."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        where = "" if line is None else f"line {line}{f', column {column}' if column else ''}: "
        super().__init__(where + problem)


class _JsonLoader(yaml.SafeLoader):
    """SafeLoader limited to JSON's values, whose mappings refuse a key given twice instead of keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep)
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            key, line = self.construct_object(key_node), key_node.start_mark.line + 1
            if key in first:
                raise _Refused(f"duplicate key {key!r} (first at line {first[key]})", line)
            first[key] = line
        return mapping

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # Python refuses to convert integers of thousands of digits
            line = node.start_mark.line + 1
            raise _Refused(f"an integer of {len(node.value)} digits is too long", line) from None

    def construct_not_json(self, node: yaml.Node) -> NoReturn:
        raise _Refused(
            f"{node.tag} is not a JSON value; write a string, number, list or mapping", node.start_mark.line + 1
        )


_JsonLoader.add_constructor("tag:yaml.org,2002:int", _JsonLoader.construct_yaml_int)
for _tag in ("binary", "omap", "pairs", "set", "timestamp"):
    _JsonLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _JsonLoader.construct_not_json)
_JsonLoader.yaml_implicit_resolvers = {  # unquoted dates stay strings, as they would in JSON
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_pipeline(path: Path) -> PipelineSpec:
    """Reads a YAML pipeline; errors name the file, the line and the problem, on one line."""
    try:
        node, data = _read_yaml(Path(path))
    except _Refused as exc:
        raise errors.InvalidInput(f"{path}: {exc}") from None
    try:
        spec = PipelineSpec.model_validate(data)
        spec.dependencies()
        return spec
    except ValidationError as exc:
        line = _line_of(node, exc.errors()[0]["loc"])
        raise errors.InvalidInput(f"{path}: line {line}: {validation_problem(exc)}") from None
    except errors.InvalidInput as exc:
        raise errors.InvalidInput(f"{path}: {exc}") from None


def _read_yaml(path: Path) -> tuple[yaml.Node | None, Any]:
    """The file's node tree (for error lines) and its data; what would hang, crash or mislead is refused first."""
    text = _read_text(path)
    try:
        _check_events(text)
        loader = _JsonLoader(text)
        try:
            node = loader.get_single_node()
            return node, None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_refusal(exc, text) from None


def _read_text(path: Path) -> str:
    """The file as UTF-8, reading no more than the size bound (the file may be huge, endless or a FIFO)."""
    try:
        raw = read_bounded(path, MAX_BYTES, "pipeline file")
    except errors.InvalidInput as exc:
        raise _Refused(str(exc)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at byte offset {exc.start}",
            raw.count(b"\n", 0, exc.start) + 1,
        ) from None


def _check_events(text: str) -> None:
    """Walks the parse events before anything is composed, refusing while it is still cheap: anchors and aliases
    (a 500-byte file can expand to a billion values) and deep nesting (the composer recurses)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = None if event.start_mark is None else event.start_mark.line + 1  # the parser always sets it
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                "YAML anchors and aliases (&name, *name) are not needed in a pipeline and not allowed: "
                "write the value out",
                line,
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels", line)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _yaml_refusal(exc: yaml.YAMLError, text: str) -> _Refused:
    """A YAML error as one line with its line and column (PyYAML's own text spans several lines)."""
    if isinstance(exc, yaml.reader.ReaderError):
        return _Refused(
            f"not valid YAML: character #x{exc.character:04x} is not allowed", text.count("\n", 0, exc.position) + 1
        )
    mark = getattr(exc, "problem_mark", None)
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    if mark is None:
        return _Refused(f"not valid YAML: {problem}")
    return _Refused(f"not valid YAML: {problem}", mark.line + 1, mark.column + 1)


def _line_of(node: Any, loc: tuple[int | str, ...]) -> int:
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
