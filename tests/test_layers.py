"""The package's layers import one way: each module imports only modules of its own layer or lower ones, at module
level or inside a function alike, and the import graph has no cycle. What this guards is what a newcomer reads:
the store at the bottom, runtimes above it, zkTLS on zk and tlsn, the runner above all, the CLI on top."""

from __future__ import annotations

import ast
from pathlib import Path

import pipeline

PACKAGE = Path(pipeline.__file__).parent

# lowest first; a module not listed here fails the test, so a new module gets a place on purpose
LAYERS: list[set[str]] = [
    {"errors", "home", "canonical", "keyfile", "secrets", "artifacts", "files", "_native"},
    {"blobstore", "models", "spec", "journal", "registry", "builtins", "provenance"},
    {"wasm", "extism", "zk", "recursion", "cluster", "segment_size"},
    {"tlsn"},
    {"zktls", "activities", "bundle"},
    {"workers", "cluster_workers"},
    {"runner"},
    {"results"},
    {"bench", "cli", "__main__"},
]
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}


def _unit(module: str) -> str:
    """pipeline.wasm.host -> wasm; pipeline.cli.zk -> cli: a subpackage is one unit."""
    return module.split(".")[1]


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "_data" in path.parts:
            continue
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        if module == "pipeline":
            continue  # the curated re-exports load lazily, on attribute access
        found = graph.setdefault(_unit(module), set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] if node.module != "pipeline" else [f"pipeline.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found.update(_unit(n) for n in names if n.startswith("pipeline.") and n != "pipeline.__version__")
        found.discard(_unit(module))
    return graph


def test_every_module_has_a_layer() -> None:
    assert set(_imports()) <= set(LAYER), f"give these a layer: {sorted(set(_imports()) - set(LAYER))}"


def test_imports_go_down_only() -> None:
    upward = sorted(
        f"{unit} -> {target}"
        for unit, targets in _imports().items()
        for target in targets
        if LAYER.get(target, 99) > LAYER.get(unit, -1)
    )
    assert not upward, f"imports of a higher layer: {upward}"


def test_no_import_cycles() -> None:
    graph = _imports()
    state: dict[str, int] = {}

    def visit(unit: str, path: list[str]) -> None:
        state[unit] = 1
        for target in graph.get(unit, ()):
            assert state.get(target) != 1, f"import cycle: {' -> '.join([*path, unit, target])}"
            if target not in state:
                visit(target, [*path, unit])
        state[unit] = 2

    for unit in graph:
        if unit not in state:
            visit(unit, [])


def test_the_curated_names_resolve() -> None:
    for name in pipeline.__all__:
        assert getattr(pipeline, name) is not None
