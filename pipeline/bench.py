"""``loom bench``: runs the pytest-benchmark suites in benches/ and turns them into a report people can read.

Every figure in a report comes from the run that wrote it: pytest-benchmark's JSON for each suite, normalised into
one ``report.json`` (with the machine's facts), a Markdown report with tables, and PNG plots. Ratios are computed
pair by pair from measurements of the same run. ``compare`` sets two reports side by side and flags regressions
beyond the noise of either run.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline import __version__, _native, errors
from pipeline.artifacts import data_dir

SUITES = {
    "wasm": "bench_wasm.py",
    "extism": "bench_extism.py",
    "runner": "bench_runner.py",
    "tlsn": "bench_tlsn.py",
    "zk": "bench_zk.py",
    "zktls": "bench_zktls.py",
    "cluster": "bench_cluster.py",
}
QUICK_ENV = "LOOM_BENCH_QUICK"


class Measurement(BaseModel):
    suite: str
    name: str
    group: str | None
    mean_s: float
    median_s: float
    min_s: float
    stddev_s: float
    rounds: int
    extra: dict[str, Any] = {}


class Report(BaseModel):
    machine: dict[str, Any]
    quick: bool
    started_at: str
    seconds: float
    measurements: list[Measurement]
    ratios: list[dict[str, Any]]


def machine_facts() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "wasmtime": version("wasmtime"),
        "risc0_zkvm": _native.build_info()["risc0_zkvm"],
        "loom": __version__,
    }


def run_suites(suites: list[str], out: Path, *, quick: bool) -> Report:
    """Runs each suite in its own pytest process; fails with the suite's output if a benchmark fails."""
    out.mkdir(parents=True, exist_ok=True)
    started, t0 = time.strftime("%Y-%m-%dT%H:%M:%S"), time.monotonic()
    measurements: list[Measurement] = []
    for suite in suites:
        raw = out / f"raw-{suite}.json"
        env = {**os.environ, QUICK_ENV: "1" if quick else "", "COLUMNS": "240"}  # room for failure reasons
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                str(data_dir() / "benches" / SUITES[suite]),
                "--benchmark-only",
                "-q",
                "-rfE",
                "-p",
                "no:cacheprovider",
                f"--benchmark-json={raw.resolve()}",
            ],
            env=env,
            capture_output=True,
            text=True,
            cwd=out,
        )
        if proc.returncode != 0:  # the short summary first: pytest-benchmark's own output can bury it
            failed = "\n".join(line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR")))
            raise errors.LoomError(
                f"benchmark suite {suite} failed:\n{failed}\n\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
            )
        for b in json.loads(raw.read_text())["benchmarks"]:
            s = b["stats"]
            measurements.append(
                Measurement(
                    suite=suite,
                    name=b["name"],
                    group=b.get("group"),
                    mean_s=s["mean"],
                    median_s=s["median"],
                    min_s=s["min"],
                    stddev_s=s["stddev"],
                    rounds=s["rounds"],
                    extra=b.get("extra_info", {}),
                )
            )
    return Report(
        machine=machine_facts(),
        quick=quick,
        started_at=started,
        seconds=time.monotonic() - t0,
        measurements=measurements,
        ratios=ratios(measurements),
    )


# (numerator, denominator, what the ratio means): each pair measured in the same run
PAIRS = [
    (
        "test_call_loom_executor",
        "test_call_bare_wasmtime_fresh_instance",
        "AssemblyScript call: Loom / bare wasmtime (fresh instance), goal <= 1.3",
    ),
    (
        "test_call_loom_executor",
        "test_call_bare_wasmtime_reused_instance",
        "AssemblyScript call: Loom / bare wasmtime (reused instance)",
    ),
    (
        "test_load_cold_compile",
        "test_load_warm_from_disk_cache",
        "module load: cold compile / warm disk cache, goal >= 20",
    ),
    ("test_json_pick_wasm_1mb", "test_json_pick_python_1mb", "json_pick on 1 MB: wasm / pure Python"),
    ("test_wasi_echo_stdio", "test_wasi_echo_reference_alloc_run", "echo call: WASI stdin/stdout / alloc-run ABI"),
    ("test_runner_uncached", "test_direct_executor_loop", "trivial steps: runner / direct executor loop, goal <= 1.5"),
    ("test_runner_all_cached", "test_direct_executor_loop", "trivial steps: fully cached run / direct executor loop"),
    ("test_call_extism_plugin", "test_call_wasmtime_assemblyscript", "HMAC call: Extism executor / wasmtime executor"),
    ("test_tlsn_verify_wasm", "test_tlsn_verify_native", "TLSNotary presentation.bin: wasm / native, goal <= 2"),
    ("test_zktls_prove", "test_zktls_verify_native", "zkTLS presentation.bin: RISC Zero proof / native verification"),
    ("test_zktls_verify_wasm", "test_zktls_verify_native", "zkTLS presentation.bin: wasm / native verification"),
    (
        "test_zktls_execute_portable",
        "test_zktls_execute_accelerated",
        "tlsn-claim execution time: portable / accelerated arithmetic",
    ),
]


def ratios(measurements: list[Measurement]) -> list[dict[str, Any]]:
    by_name = {m.name: m for m in measurements}
    out = [
        {"what": what, "numerator": a, "denominator": b, "ratio": by_name[a].mean_s / by_name[b].mean_s}
        for a, b, what in PAIRS
        if a in by_name and b in by_name
    ]
    for m in measurements:
        if "ratio_python_over_rust" in m.extra:
            out.append(
                {
                    "what": f"proving {m.name.split('[')[-1].rstrip(']')}: Python / Rust host, goal <= 1.02",
                    "numerator": "python",
                    "denominator": "rust",
                    "ratio": m.extra["ratio_python_over_rust"],
                }
            )
        if "ratio_succinct_over_composite" in m.extra:
            out.append(
                {
                    "what": f"proof time, {m.extra['segments']} segment(s) at 2^17: succinct / composite",
                    "numerator": "succinct",
                    "denominator": "composite",
                    "ratio": m.extra["ratio_succinct_over_composite"],
                }
            )
    return out


def write_report(report: Report, out: Path) -> Path:
    """report.json, report.md and the PNG plots it links."""
    (out / "report.json").write_text(report.model_dump_json(indent=2))
    plots = _plots(report, out)
    lines = [
        f"# Loom benchmark report ({'quick' if report.quick else 'full'})",
        "",
        f"Run {report.started_at}, {report.seconds:.0f} s in all.",
        "",
        "| machine | |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in report.machine.items()]
    lines += ["", "## Ratios (pairs from this run)", "", "| what | ratio |", "|---|---|"]
    lines += [f"| {r['what']} | {r['ratio']:.3f} |" for r in report.ratios]
    lines += [
        "",
        "## Measurements",
        "",
        "| suite | benchmark | mean | median | min | rounds |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m.suite} | {m.name} | {_fmt(m.mean_s)} | {_fmt(m.median_s)} | {_fmt(m.min_s)} | {m.rounds} |"
        for m in report.measurements
    ]
    proving = [m for m in report.measurements if "total_cycles" in m.extra and "rust_mean_s" in m.extra]
    if proving:
        lines += [
            "",
            "## Proving (sha-chain, composite)",
            "",
            "| cycles | segment po2 | segments | Python s | Rust s | Python/Rust | cycles/s | peak MiB (Py / Rust) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for m in proving:
            e = m.extra
            lines.append(
                f"| {e['total_cycles']} | {e['segment_po2']} | {e['segments']} | {e['python_mean_s']:.1f} | "
                f"{e['rust_mean_s']:.1f} | {e['ratio_python_over_rust']:.3f} | "
                f"{e['python_cycles_per_s']:.0f} | "
                f"{e['python_peak_rss_mib']:.0f} / {e['rust_peak_rss_mib']:.0f} |"
            )
    lines += _cycle_table(report.measurements)
    lines += [""] + [f"![{p.stem}]({p.name})" for p in plots]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cycle_table(measurements: list[Measurement]) -> list[str]:
    """Guest cycles by phase, one column per profiled execution (tlsn-claim with and without acceleration)."""
    profiled = [m for m in measurements if "phases" in m.extra]
    if not profiled:
        return []
    heads = ["accelerated" if m.extra.get("accelerated") else "portable" for m in profiled]
    lines = [
        "",
        "## zkTLS: tlsn-claim cycles by phase (presentation.bin)",
        "",
        "| phase | " + " | ".join(heads) + " |",
        "|---" * (len(heads) + 1) + "|",
    ]
    for phase in profiled[0].extra["phases"]:
        lines.append(f"| {phase} | " + " | ".join(f"{m.extra['phases'].get(phase, 0):,}" for m in profiled) + " |")
    lines.append("| **user cycles** | " + " | ".join(f"{m.extra['user_cycles']:,}" for m in profiled) + " |")
    lines.append(
        "| **total cycles (segments)** | "
        + " | ".join(f"{m.extra['total_cycles']:,} ({m.extra['segments']})" for m in profiled)
        + " |"
    )
    return lines


def _fmt(seconds: float) -> str:
    return (
        f"{seconds * 1e6:.1f} us"
        if seconds < 1e-3
        else f"{seconds * 1e3:.2f} ms"
        if seconds < 1
        else f"{seconds:.2f} s"
    )


def _plots(report: Report, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    proving = [m for m in report.measurements if "total_cycles" in m.extra and "rust_mean_s" in m.extra]
    if proving:
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
        for po2 in sorted({m.extra["segment_po2"] for m in proving}):
            pts = sorted((m.extra["total_cycles"], m.extra) for m in proving if m.extra["segment_po2"] == po2)
            xs = [c for c, _ in pts]
            left.plot(xs, [e["python_mean_s"] for _, e in pts], "o-", label=f"Python, po2 {po2}")
            left.plot(xs, [e["rust_mean_s"] for _, e in pts], "x--", label=f"Rust host, po2 {po2}")
            right.plot(xs, [e["python_cycles_per_s"] for _, e in pts], "o-", label=f"po2 {po2}")
        for ax, title, ylabel in [(left, "proving time", "seconds"), (right, "throughput", "cycles / s")]:
            ax.set_xscale("log")
            ax.set_xlabel("total cycles (log)")
            ax.set_ylabel(ylabel)
            ax.set_title(title)
            ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(out / "proving.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    groups = sorted({m.group for m in report.measurements if m.group and "total_cycles" not in m.extra})
    if groups:
        fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
        for ax, group in zip(axes[0], groups, strict=True):
            ms = [m for m in report.measurements if m.group == group]
            ax.barh([m.name.removeprefix("test_") for m in ms], [m.mean_s * 1e3 for m in ms])
            spread = max(m.mean_s for m in ms) / min(m.mean_s for m in ms)
            ax.set_xscale("log" if spread > 100 else "linear")
            ax.set_xlabel("mean, ms" + (" (log)" if spread > 100 else ""))
            ax.set_title(group)
            ax.tick_params(axis="y", labelsize=7)
        fig.tight_layout()
        paths.append(out / "timings.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def compare(a: Report, b: Report, threshold: float = 0.10) -> list[dict[str, Any]]:
    """B against A per benchmark: ratio of means, and a regression flag when B is slower beyond the noise
    (``threshold``, or twice the relative standard deviation of either run if larger)."""
    before = {(m.suite, m.name): m for m in a.measurements}
    rows = []
    for m in b.measurements:
        old = before.get((m.suite, m.name))
        if old is None:
            continue
        noise = max(threshold, 2 * old.stddev_s / old.mean_s, 2 * m.stddev_s / m.mean_s)
        ratio = m.mean_s / old.mean_s
        rows.append(
            {
                "suite": m.suite,
                "name": m.name,
                "a_mean_s": old.mean_s,
                "b_mean_s": m.mean_s,
                "ratio": ratio,
                "noise": noise,
                "regression": ratio > 1 + noise,
            }
        )
    return rows


def load_report(path: Path) -> Report:
    try:
        return Report.model_validate_json(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise errors.InvalidInput(f"{path} is not a Loom benchmark report: {exc}") from None
