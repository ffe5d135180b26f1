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
        assert r.ratio == by_name[r.numerator] / by_name[r.denominator]
    assert len(report.ratios) == 8 and report.machine["cores"] >= 1
    goals = {r.what: r.goal for r in report.ratios}
    assert str(goals["module load: cold compile / warm disk cache"]) == ">= 20"
    assert str(goals["HTTP GET to 127.0.0.1: loom_http (http_fetch) / Python http.client"]) == "<= 1.3"
    assert str(goals["json_pick on 1 MB: wasm / Python"]) == "<= 2"
    markdown = (tmp_path / "report.md").read_text()
    assert "| AssemblyScript call: Loom / bare wasmtime (fresh instance)" in markdown
    assert (tmp_path / "ratios.png").read_bytes().startswith(b"\x89PNG")

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


def test_a_benchmark_whose_reference_is_missing_is_a_skipped_row_not_a_failure(tmp_path: Path, monkeypatch) -> None:
    suite = tmp_path / "bench_partial.py"
    suite.write_text(
        "import pytest\n"
        "def test_runs(benchmark):\n    benchmark(lambda: 1)\n"
        "def test_needs_a_reference(benchmark):\n    pytest.skip('needs the reference | built by make bench')\n"
    )
    monkeypatch.setitem(bench.SUITES, "partial", str(suite))
    report = bench.run_suites(["partial"], tmp_path / "out", quick=True)
    assert [m.name for m in report.measurements] == ["test_runs"]
    assert report.skipped == [
        bench.Skipped(
            suite="partial", name="test_needs_a_reference", reason="needs the reference | built by make bench"
        )
    ]
    markdown = bench.write_report(report, tmp_path / "out").read_text()
    assert "| partial | test_needs_a_reference | needs the reference \\| built by make bench |" in markdown


def _measurement(name: str, mean_s: float = 1.0, **extra: object) -> bench.Measurement:
    return bench.Measurement(
        suite="zk",
        name=name,
        group=None,
        mean_s=mean_s,
        median_s=mean_s,
        min_s=mean_s,
        stddev_s=0,
        rounds=1,
        extra=extra,
    )


def test_each_ratio_is_judged_against_its_goal_and_segments_are_drawn_as_curves(tmp_path: Path) -> None:
    measurements = [
        _measurement(
            "test_prove_local_vs_cluster[composite]", ratio_cluster_over_local=1.3, kind="composite", segments=4, po2=16
        ),
        _measurement("test_prove_native_cpu_vs_baseline", ratio_native_cpu_over_baseline=1.2, segment_po2=18),
    ] + [
        _measurement(f"test_one_segment[po2_{p}]", segment_po2=p, prove_s=s, peak_rss_mib=m, model_mib=b)
        for p, s, m, b in [(17, 60.0, 1400.0, 1650), (16, 30.0, 700.0, 850)]
    ]
    ratios = {r.what: r for r in bench.ratios(measurements)}
    cluster = ratios["composite proof, 4 segments of 2^16: 2-node cluster / local"]
    assert (cluster.ratio, str(cluster.goal), cluster.met) == (1.3, "<= 1.15", False)
    assert ratios["sha-chain 2^18 cycles/s: kernels for this CPU / baseline x86-64"].met is True
    report = bench.Report(
        machine={}, quick=True, started_at="now", seconds=1, measurements=measurements, ratios=list(ratios.values())
    )
    markdown = bench.write_report(report, tmp_path).read_text()
    assert "| composite proof, 4 segments of 2^16: 2-node cluster / local | 1.300 | <= 1.15 | NO |" in markdown
    assert markdown.index("| 16 | 30.0 | 700 | 850 |") < markdown.index("| 17 | 60.0 | 1,400 | 1,650 |")
    for plot in ("segments.png", "ratios.png"):
        assert (tmp_path / plot).read_bytes().startswith(b"\x89PNG")
