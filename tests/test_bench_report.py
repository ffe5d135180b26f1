"""`loom bench` on a real (quick) suite: the report, its ratios and plots all come from that run; compare flags
regressions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import bench, errors


def test_quick_wasm_suite_writes_a_report(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "bench", "--suite", "wasm", "--quick", "--out", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = bench.Report.model_validate_json((tmp_path / "report.json").read_text())
    raw = json.loads((tmp_path / "raw-wasm.json").read_text())
    assert {m.name for m in report.measurements} == {b["name"] for b in raw["benchmarks"]}
    by_name = {m.name: m.mean_s for m in report.measurements}
    for r in report.ratios:
        assert r["ratio"] == by_name[r["numerator"]] / by_name[r["denominator"]]
    assert len(report.ratios) == 5 and report.machine["cores"] >= 1
    markdown = (tmp_path / "report.md").read_text()
    assert "| AssemblyScript call: Loom / bare wasmtime (fresh instance)" in markdown
    assert (tmp_path / "timings.png").read_bytes().startswith(b"\x89PNG")

    slower = report.model_copy(deep=True)
    for m in slower.measurements:
        if m.name == "test_load_cold_compile":
            m.mean_s *= 3
    (tmp_path / "slower.json").write_text(slower.model_dump_json())
    flagged = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "bench",
            "compare",
            str(tmp_path / "report.json"),
            str(tmp_path / "slower.json"),
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert flagged.returncode == 1
    rows = json.loads(flagged.stdout)
    assert [r["name"] for r in rows if r["regression"]] == ["test_load_cold_compile"]


def test_a_failing_suite_names_the_failed_benchmark(tmp_path: Path, monkeypatch) -> None:
    suite = tmp_path / "bench_broken.py"
    suite.write_text(
        "def test_broken_benchmark(benchmark):\n    benchmark(lambda: 1)\n    assert False, 'broken on purpose'\n"
    )
    monkeypatch.setitem(bench.SUITES, "broken", str(suite))
    with pytest.raises(errors.LoomError) as failure:
        bench.run_suites(["broken"], tmp_path / "out", quick=True)
    summary = str(failure.value).split("\n\n")[0]
    assert "benchmark suite broken failed" in summary
    assert "FAILED" in summary and "test_broken_benchmark" in summary and "broken on purpose" in summary
