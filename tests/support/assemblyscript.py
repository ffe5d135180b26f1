"""AssemblyScript modules made for a test from source, with the compiler `make setup` installs (activities/), kept
under the cache dir by a digest of the source, the options and the compiler, so a session compiles each once."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

from pipeline.core import cache_dir
from tests.support import REPO

ACTIVITIES = REPO / "activities"

WRAP = """
// wrap: {"words": [...]} -> {"wrapped": <the input>, "bytes": <its UTF-16 length>}. Tiny on purpose (the stub runtime,
// no GC, shrunk): one call of it is the cheapest AssemblyScript proof, ~1M cycles in the wasm-exec guest.
export function run(input: string): string {
  return '{"wrapped":' + input + ',"length":' + input.length.toString() + '}';
}
"""


def compile_assemblyscript(source: str, *, runtime: str = "stub") -> bytes:
    """The module asc makes of ``source`` with Loom's ABI exports (``--exportRuntime``)."""
    compiler = (ACTIVITIES / "node_modules" / "assemblyscript" / "package.json").read_bytes()
    options = ["--runtime", runtime, "--exportRuntime", "--optimizeLevel", "3", "--shrinkLevel", "2"]
    key = hashlib.sha256(json.dumps([source, options, hashlib.sha256(compiler).hexdigest()]).encode()).hexdigest()
    kept = cache_dir() / "test-modules" / f"as-{key}.wasm"
    if not kept.is_file():
        kept.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=kept.parent) as work:
            entry, out = Path(work) / "module.ts", Path(work) / "module.wasm"
            entry.write_text(source)
            script = (
                "import { main } from 'assemblyscript/asc';"
                f"const r = await main({json.dumps([str(entry), '-o', str(out), *options])});"
                "if (r.error) { console.error(r.stderr.toString()); process.exit(1); }"
            )
            subprocess.run(["node", "--input-type=module", "-e", script], cwd=ACTIVITIES, check=True, timeout=120)
            out.replace(kept)
    return kept.read_bytes()
