"""``loom bench``: run the benchmark suites into a report, and compare two reports."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from pipeline import bench
from pipeline.cli.output import EXIT_FAILED, JSON_OPT, console, emit, safe

app = typer.Typer(
    help="Benchmarks: proof throughput, verification, activity calls, the runner.", invoke_without_command=True
)


@app.callback()
def run(
    ctx: typer.Context,
    suite: str = typer.Option("all", "--suite", help="wasm, extism, runner, tlsn, zk, zktls, cluster, serve, or all."),
    quick: bool = typer.Option(False, "--quick", help="Smaller cases: under 10 minutes on 2 cores."),
    out: Path = typer.Option(Path("build/bench"), "--out", help="Where report.json, report.md and plots go."),
    json_out: bool = JSON_OPT,
) -> None:
    """Run the suites (pytest-benchmark underneath) and write report.json, report.md and PNG plots."""
    if ctx.invoked_subcommand:
        return
    suites = list(bench.SUITES) if suite == "all" else [suite]
    unknown = set(suites) - set(bench.SUITES)
    if unknown:
        raise typer.BadParameter(f"unknown suite {', '.join(unknown)}; choose from {', '.join(bench.SUITES)} or all")
    with console.status(f"running {', '.join(suites)} ({'quick' if quick else 'full'})..."):
        report = bench.run_suites(suites, out, quick=quick)
    path = bench.write_report(report, out)
    if json_out:
        emit(report.model_dump(), True)
        return
    table = Table(
        "ratio (same run)", "value", "goal", "", title=safe(f"{path} ({report.seconds:.0f} s)"), title_justify="left"
    )
    for r in report.ratios:
        met = "" if r.met is None else Text("met", style="green") if r.met else Text("MISSED", style="red")
        table.add_row(safe(r.what), f"{r.ratio:.3f}", str(r.goal or ""), met)
    for skipped in report.skipped:  # what could not run here, and what it needs
        table.add_row(
            safe(f"{skipped.suite}: {skipped.name}"), Text("skipped", style="yellow"), "", safe(skipped.reason)
        )
    console.print(table)


@app.command("compare")
def compare(
    a: Path = typer.Argument(..., help="The baseline report.json."),
    b: Path = typer.Argument(..., help="The report to check."),
    threshold: float = typer.Option(0.10, help="Slowdown to flag when the runs' own noise is smaller."),
    json_out: bool = JSON_OPT,
) -> None:
    """B against A, benchmark by benchmark; exit 1 if anything regressed beyond noise. (Reports are files: their
    names are shown as inert text.)"""
    rows = bench.compare(bench.load_report(a), bench.load_report(b), threshold)
    if json_out:
        emit(rows, True)
    else:
        table = Table("suite", "benchmark", "A mean", "B mean", "B/A", "noise", "")
        for r in rows:
            flag = Text("REGRESSION", style="red") if r["regression"] else ""
            table.add_row(
                safe(r["suite"]),
                safe(r["name"]),
                bench.format_seconds(r["a_mean_s"]),
                bench.format_seconds(r["b_mean_s"]),
                f"{r['ratio']:.3f}",
                f"±{r['noise']:.0%}",
                flag,
            )
        console.print(table)
    if any(r["regression"] for r in rows):
        raise typer.Exit(EXIT_FAILED)
