"""``loom bench``: runs the pytest-benchmark suites in benches/ and turns them into a report people can read.

Every figure in a report comes from the run that wrote it: pytest-benchmark's JSON for each suite, normalised into
one ``report.json`` (with the machine's facts), a Markdown report with tables, and PNG plots. Ratios are computed
pair by pair from measurements of the same run. A benchmark that cannot run here (its reference is not installed,
the case does not exist on this circuit) is a skipped row with pytest's reason, never a failed run. ``compare`` sets
two reports side by side and flags regressions beyond the noise of either run.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from pydantic import BaseModel

from pipeline import __version__, _native, errors
from pipeline.core import data_dir

SUITES = {
    "wasm": "bench_wasm.py",
    "extism": "bench_extism.py",
    "runner": "bench_runner.py",
    "tlsn": "bench_tlsn.py",
    "zk": "bench_zk.py",
    "zktls": "bench_zktls.py",
    "cluster": "bench_cluster.py",
    "serve": "bench_serve.py",
}
QUICK_ENV = "LOOM_BENCH_QUICK"


class Bound(StrEnum):
    """Which side of its goal a ratio must stay on."""

    AT_MOST = "<="
    AT_LEAST = ">="


class Goal(BaseModel, frozen=True):
    bound: Bound
    value: float

    def met(self, ratio: float) -> bool:
        return ratio <= self.value if self.bound is Bound.AT_MOST else ratio >= self.value

    def __str__(self) -> str:
        return f"{self.bound.value} {self.value:g}"


class Ratio(BaseModel):
    """Two measurements of the same run set side by side, and the goal the ratio is held to (if any)."""

    what: str
    numerator: str
    denominator: str
    ratio: float
    goal: Goal | None = None

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.goal.met(self.ratio)


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


class Skipped(BaseModel):
    """A benchmark that did not run here, and pytest's reason (what it needs)."""

    suite: str
    name: str
    reason: str


class Report(BaseModel):
    machine: dict[str, Any]
    quick: bool
    started_at: str
    seconds: float
    measurements: list[Measurement]
    ratios: list[Ratio]
    skipped: list[Skipped] = []


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
    skipped: list[Skipped] = []
    for suite in suites:
        raw, junit = out / f"raw-{suite}.json", out / f"junit-{suite}.xml"
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
                f"--junitxml={junit.resolve()}",
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
        skipped += _skipped(suite, junit)
        for b in json.loads(raw.read_text())["benchmarks"] if raw.is_file() else []:
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
        skipped=skipped,
    )


def _skipped(suite: str, junit: Path) -> list[Skipped]:
    """The benchmarks a suite skipped, from the JUnit XML pytest wrote for this run."""
    if not junit.is_file():
        return []
    return [
        Skipped(suite=suite, name=case.get("name", "?"), reason=(skip.get("message") or "").strip())
        for case in ElementTree.parse(junit).getroot().iter("testcase")
        for skip in case.findall("skipped")
    ]


@dataclass(frozen=True)
class Pair:
    """A ratio of two benchmarks' means."""

    numerator: str
    denominator: str
    what: str
    goal: Goal | None = None


@dataclass(frozen=True)
class ExtraRatio:
    """A ratio a benchmark computed itself (both sides measured inside it) and put in its extra info."""

    key: str
    numerator: str
    denominator: str
    what: str  # formatted with the benchmark's extra info and its case id
    goal: Goal | None = None


def _at_most(value: float) -> Goal:
    return Goal(bound=Bound.AT_MOST, value=value)


def _at_least(value: float) -> Goal:
    return Goal(bound=Bound.AT_LEAST, value=value)


PAIRS = [
    Pair(
        "test_call_loom_executor",
        "test_call_bare_wasmtime_fresh_instance",
        "AssemblyScript call: Loom / bare wasmtime (fresh instance)",
        _at_most(1.3),
    ),
    Pair(
        "test_call_loom_executor",
        "test_call_bare_wasmtime_reused_instance",
        "AssemblyScript call: Loom / bare wasmtime (reused instance)",
        _at_most(1.2),  # a fresh instance per call should cost little more than none
    ),
    Pair(
        "test_load_cold_compile",
        "test_load_warm_from_disk_cache",
        "module load: cold compile / warm disk cache",
        _at_least(20),
    ),
    Pair("test_json_pick_wasm_1mb", "test_json_pick_python_1mb", "json_pick on 1 MB: wasm / Python", _at_most(2)),
    Pair("test_redact_wasm_1mb", "test_redact_python_1mb", "redact on 1 MB: wasm / Python", _at_most(2)),
    Pair("test_http_parse_wasm_1mb", "test_http_parse_python_1mb", "http_parse on 1 MB: wasm / Python", _at_most(2)),
    Pair(
        "test_http_through_loom",
        "test_http_python_client",
        "HTTP GET to 127.0.0.1: loom_http (http_fetch) / Python http.client",
        _at_most(1.3),
    ),
    Pair("test_wasi_echo_stdio", "test_wasi_echo_reference_alloc_run", "echo call: WASI stdin/stdout / alloc-run ABI"),
    Pair(
        "test_runner_uncached",
        "test_direct_executor_loop",
        "trivial steps: runner / direct executor loop",
        _at_most(1.5),
    ),
    Pair(
        "test_runner_all_cached", "test_direct_executor_loop", "trivial steps: fully cached run / direct executor loop"
    ),
    Pair(
        "test_call_extism_plugin", "test_call_wasmtime_assemblyscript", "HMAC call: Extism executor / wasmtime executor"
    ),
    Pair("test_tlsn_verify_wasm", "test_tlsn_verify_native", "TLSNotary presentation.bin: wasm / native", _at_most(2)),
    Pair("test_zktls_verify_wasm", "test_zktls_verify_native", "zkTLS presentation.bin: wasm / native verification"),
    Pair(
        "test_serve_verify_200_concurrent",
        "test_native_verify_200",
        "200 verifications: sent at once to loom serve / native in-process, one by one",
    ),
    Pair(
        "test_serve_verify_one",
        "test_cli_verify_one",
        "one verification: a request to loom serve / a `loom tlsn verify` process",
        _at_most(0.1),  # what a service is for: no process start per check
    ),
    Pair(
        "test_zktls_execute_portable",
        "test_zktls_execute_accelerated",
        "tlsn-claim execution time: portable / accelerated arithmetic",
    ),
]

EXTRA_RATIOS = [
    ExtraRatio("ratio_python_over_rust", "python", "rust", "proving {case}: Python / Rust host", _at_most(1.02)),
    ExtraRatio(
        "ratio_succinct_over_composite",
        "succinct",
        "composite",
        "proof time, {bench}: succinct / composite",
    ),
    ExtraRatio(
        "ratio_cluster_over_local",
        "cluster",
        "local",
        "{kind} proof, {segments} segments of 2^{po2}: 2-node cluster / local",
        _at_most(1.15),
    ),
    ExtraRatio(
        "ratio_wasm_over_native_guest",
        "wasm-exec",
        "json-claim",
        "json-pick's pick, rows to prove: the AssemblyScript activity in wasm-exec / the native Rust guest",
    ),
    ExtraRatio(
        "ratio_zkvm_execute_over_wasmtime",
        "wasm-exec",
        "wasmtime",
        "{case}, one call: executed in the zkVM (wasm-exec, not proven) / wasmtime",
    ),
    ExtraRatio(
        "ratio_native_cpu_over_baseline",
        "native CPU",
        "baseline",
        "sha-chain 2^{segment_po2} cycles/s: kernels for this CPU / baseline x86-64",
        _at_least(1.0),
    ),
]


def ratios(measurements: list[Measurement]) -> list[Ratio]:
    by_name = {m.name: m for m in measurements}
    out = [
        Ratio(
            what=p.what,
            numerator=p.numerator,
            denominator=p.denominator,
            ratio=by_name[p.numerator].mean_s / by_name[p.denominator].mean_s,
            goal=p.goal,
        )
        for p in PAIRS
        if p.numerator in by_name and p.denominator in by_name
    ]
    for m in measurements:
        case = m.name.split("[")[-1].rstrip("]")
        for r in EXTRA_RATIOS:
            if r.key in m.extra:
                what = r.what.format_map({**m.extra, "case": case, "bench": m.name.removeprefix("test_")})
                out.append(
                    Ratio(
                        what=what, numerator=r.numerator, denominator=r.denominator, ratio=m.extra[r.key], goal=r.goal
                    )
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
    lines += ["", "## Ratios (pairs from this run)", "", "| what | ratio | goal | met |", "|---|---|---|---|"]
    lines += [
        f"| {r.what} | {r.ratio:.3f} | {r.goal or ''} | {'' if r.met is None else 'yes' if r.met else 'NO'} |"
        for r in report.ratios
    ]
    if report.skipped:
        lines += ["", "## Skipped here", "", "| suite | benchmark | why |", "|---|---|---|"]
        lines += [f"| {k.suite} | {k.name} | {_cell(k.reason)} |" for k in report.skipped]
    lines += [
        "",
        "## Measurements",
        "",
        "| suite | benchmark | mean | median | min | rounds |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m.suite} | {m.name} | {' | '.join(map(format_seconds, (m.mean_s, m.median_s, m.min_s)))} | {m.rounds} |"
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
    segments = _one_segment_proofs(report.measurements)
    if segments:
        lines += [
            "",
            "## One segment: proving time and peak memory by segment size (sha-chain)",
            "",
            "| segment po2 | prove s | peak RSS MiB | budgeted MiB (models.SEGMENT_MEMORY_MIB) |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {m.extra['segment_po2']} | {m.extra['prove_s']:.1f} | {m.extra['peak_rss_mib']:,.0f} | "
            f"{m.extra['model_mib']:,} |"
            for m in segments
        ]
    lines += _cycle_table(report.measurements)
    lines += [""] + [f"![{p.stem}]({p.name})" for p in plots]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cell(text: str) -> str:
    """Text as one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


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


def format_seconds(seconds: float) -> str:
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
    segments = _one_segment_proofs(report.measurements)
    if segments:
        po2s = [m.extra["segment_po2"] for m in segments]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
        left.plot(po2s, [m.extra["prove_s"] for m in segments], "o-", label="measured")
        right.plot(po2s, [m.extra["peak_rss_mib"] / 1024 for m in segments], "o-", label="measured peak RSS")
        right.plot(po2s, [m.extra["model_mib"] / 1024 for m in segments], "x--", label="models.SEGMENT_MEMORY_MIB")
        for ax, title, ylabel in [
            (left, "proving time of one segment", "seconds (log)"),
            (right, "peak memory of one segment", "GiB (log)"),
        ]:
            ax.set_yscale("log", base=2)
            ax.set_xticks(po2s, [f"2^{p}" for p in po2s])
            ax.set_xlabel("segment size (cycles)")
            ax.set_ylabel(ylabel)
            ax.set_title(title)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(out / "segments.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    if report.ratios:
        # One chart for every ratio: a bar per ratio from parity (log scale), its goal as a tick, green when met.
        rows = report.ratios[::-1]
        fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.2))
        colors = ["grey" if r.met is None else "tab:green" if r.met else "tab:red" for r in rows]
        ax.barh(range(len(rows)), [r.ratio - 1 for r in rows], left=1, color=colors)  # from parity either way
        for i, r in enumerate(rows):
            ax.annotate(
                f"{r.ratio:.3g}", (r.ratio, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7
            )
        goals = [(i, r.goal.value) for i, r in enumerate(rows) if r.goal is not None]
        ax.plot([g for _, g in goals], [i for i, _ in goals], "k|", markersize=16, markeredgewidth=2, label="goal")
        ax.axvline(1, color="black", linewidth=0.6)
        ax.set_xscale("log")
        ax.set_yticks(range(len(rows)), [r.what for r in rows], fontsize=8)
        ax.set_xlabel("ratio (log); green: goal met, red: missed, grey: no goal")
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        paths.append(out / "ratios.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def _one_segment_proofs(measurements: list[Measurement]) -> list[Measurement]:
    """The one-segment proofs by segment po2 (bench_zk's memory and time curve)."""
    return sorted((m for m in measurements if "peak_rss_mib" in m.extra), key=lambda m: m.extra["segment_po2"])


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
