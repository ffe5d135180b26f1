"""The folder tree is the layer diagram: each subpackage of ``pipeline`` imports only packages of its own layer or
lower ones (at module level or inside a function alike), the graph has no cycle, and a package is entered through
its ``__init__``: another package's private ``_modules`` are not imported. Lowest first:

    errors, _native          the exception tree, the one native bridge
    core                     data dir, canonical JSON, keys, secrets, shipped files, the shared typed contracts
    store                    blobs, registry, journal
    sandbox, zk              wasm/WASI/Extism executors; RISC Zero proving and verification
    tlsn                     TLSNotary verification, zkTLS claims
    activities               registering and running activities of every runtime
    flow                     specs, the runner, worker pools, provenance
    results                  bundles and their verification
    bench, serve             the benchmark report, the HTTP API
    cli, __main__            the command line
"""

from __future__ import annotations

import ast
from pathlib import Path

import pipeline

PACKAGE = Path(pipeline.__file__).parent

# lowest first; a unit not listed here fails the test, so a new package gets a place on purpose
LAYERS: list[set[str]] = [
    {"errors", "_native"},
    {"core"},
    {"store"},
    {"sandbox", "zk"},
    {"tlsn"},
    {"activities"},
    {"flow"},
    {"results"},
    {"bench", "serve"},
    {"cli", "__main__"},
]
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}


def _unit(module: str) -> str:
    """pipeline.sandbox._host -> sandbox; pipeline.errors -> errors: a subpackage is one unit."""
    return module.split(".")[1]


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        if "_data" in path.parts:
            continue
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        if module != "pipeline":  # the curated re-exports load lazily, on attribute access
            found.append((module, path))
    return found


def _imported(path: Path) -> list[str]:
    """Every pipeline module ``path`` imports, named in full."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "pipeline":
                names += [f"pipeline.{a.name}" for a in node.names]
            else:
                names += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return [n for n in names if n.startswith("pipeline.") and n != "pipeline.__version__"]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in _modules():
        unit = _unit(module)
        graph.setdefault(unit, set()).update(_unit(n) for n in _imported(path))
        graph[unit].discard(unit)
    return graph


def test_every_package_has_a_layer() -> None:
    assert set(_graph()) <= set(LAYER), f"give these a layer: {sorted(set(_graph()) - set(LAYER))}"


def test_the_top_level_is_packages_not_modules() -> None:
    """``ls pipeline/`` shows the architecture: a folder per layer, and at the top only the exception tree, the
    native bridge and the entry points."""
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "errors.py"], loose
    for unit in LAYER.keys() - {"errors", "_native", "__main__"}:
        assert (PACKAGE / unit / "__init__.py").is_file(), f"pipeline/{unit} is a package"


def test_imports_go_down_only() -> None:
    upward = sorted(
        f"{unit} -> {target}"
        for unit, targets in _graph().items()
        for target in targets
        if LAYER.get(target, 99) > LAYER.get(unit, -1)
    )
    assert not upward, f"imports of a higher layer: {upward}"


def test_a_package_is_entered_through_its_init() -> None:
    """Another package's private modules are its own business: import what its ``__init__`` names."""
    reaching_in = sorted(
        f"{module} -> {name}"
        for module, path in _modules()
        for name in _imported(path)
        if name.count(".") >= 2
        and name.split(".")[2].startswith("_")
        and _unit(name) != _unit(module)
        and _unit(name) != "_native"
    )
    assert not reaching_in, f"private modules of other packages: {reaching_in}"


def test_no_import_cycles() -> None:
    graph = _graph()
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


def test_every_public_name_resolves() -> None:
    import importlib

    for name in pipeline.__all__:
        assert getattr(pipeline, name) is not None
    for unit in LAYER.keys() - {"errors", "_native", "__main__"}:
        package = importlib.import_module(f"pipeline.{unit}")
        if hasattr(package, "__all__"):
            for name in package.__all__:
                assert getattr(package, name) is not None, f"pipeline.{unit}.{name}"
