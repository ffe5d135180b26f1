"""``loom run`` and ``loom runs``: run pipelines with live progress, inspect and resume them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from pipeline import errors
from pipeline.cli.output import (
    CLUSTER_OPT,
    EXIT_FAILED,
    JSON_OPT,
    PROVING_PHASES,
    SECRETS_DIR_OPT,
    check_out_path,
    console,
    emit,
    err_console,
    markup_safe,
    one_line,
    plain,
    read_input,
    safe,
)
from pipeline.cli.provenance import provenance_table
from pipeline.cli.zk import proving_bar
from pipeline.core import parse_json, use_secrets_dir, write_atomic
from pipeline.flow import Event, Runner, RunResult, Source, load_pipeline
from pipeline.results import Chained, bundle_of, chain_call, execute_chain, prove_chain
from pipeline.store import HttpRequest, RunStatus, StepStatus

app = typer.Typer(help="Inspect and resume pipeline runs.", no_args_is_help=True)
STYLE: dict[str, str] = {
    StepStatus.SUCCEEDED: "green",
    StepStatus.CACHED: "cyan",
    StepStatus.SKIPPED: "dim",
    StepStatus.FAILED: "red",
    StepStatus.RUNNING: "yellow",
    StepStatus.INTERRUPTED: "magenta",
    Event.RETRYING: "yellow",
    Event.STARTED: "yellow",
}
"""Colours of statuses and events (one table: the names they share mean the same)."""
FINISHED = (Event.SUCCEEDED, Event.CACHED, Event.SKIPPED, Event.FAILED)


def _status(status: str) -> Text:
    """A journaled status in its colour (the journal is a file: the text itself is not trusted)."""
    return safe(status, STYLE.get(status, "white"))


def _decode(data: bytes) -> Any:
    return parse_json(data, "--input")


class _Display:
    """One progress line per step; proving steps show their segments. Descriptions are rich markup, so the step
    name (from a pipeline file) and event are escaped into it. Progress is relayed by another thread, so it may
    arrive after its step finished: it is dropped then."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}
        self.finished: set[str] = set()

    def __call__(self, step: str, event: Event, details: dict[str, Any]) -> None:
        name = markup_safe(step)
        task = self.tasks.get(step)
        if task is None:
            task = self.tasks[step] = self.progress.add_task(name, total=None)
        if event == Event.PROGRESS:
            if step in self.finished:
                return
            phase = PROVING_PHASES.get(details["phase"], markup_safe(details["phase"]))
            self.progress.update(
                task, description=f"{name}: {phase}", completed=details["done"], total=details["total"]
            )
            return
        label = f"[{STYLE.get(event, 'white')}]{markup_safe(event)}[/]"
        extra = (
            f" (attempt {details['attempt']}, retry in {details['delay_s']:.1f}s)" if event == Event.RETRYING else ""
        )
        if event in FINISHED:
            self.finished.add(step)
            self.progress.update(task, description=f"{name}: {label}{extra}", completed=1, total=1)
        else:
            self.progress.update(task, description=f"{name}: {label}{extra}")


def _run_with_display(json_out: bool, work: Callable[[_Display], RunResult]) -> RunResult:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, disable=json_out) as progress:
        return work(_Display(progress))


BUNDLE_HELP = (
    "Write the result as a bundle to this file: the output, where each value comes from (a receipt or the host) and "
    "the receipts, for `loom verify` on any machine."
)


CHAIN_HELP = (
    "Prove the run's proven steps as one chain (the chain guest), so that the bundle carries one "
    "succinct receipt proving every proven step and that each read what the spec gives for the run's input. A run "
    "where a proven step reads a host step's output keeps one receipt per step (and says why)."
)


def _write_bundle(runner: Runner, run_id: str, path: Path, *, chain: bool = False, json_out: bool = False) -> str:
    """Writes the run's bundle (with its steps proven as one chain when asked and possible); returns a line saying
    what went in."""
    chained = _prove_chain(runner, run_id, json_out) if chain else None
    made = bundle_of(runner, run_id, chained)
    write_atomic(path, made.to_bytes())
    proven = sum(p.source is Source.proven for p in made.provenance)
    by = (
        f"one chain receipt ({len(chained.journal['steps'])} steps)" + (" from cache" if chained.cached else "")
        if chained
        else f"{len(made.receipts)} receipt(s)"
    )
    return f"bundle written to {path}: {proven} of {len(made.provenance)} values proven by {by}"


def _prove_chain(runner: Runner, run_id: str, json_out: bool) -> Chained | None:
    """The run's chain receipt, or None (with a warning saying why) when its steps cannot be chained."""
    try:
        call = chain_call(runner, run_id)
        execute_chain(call)  # a chain that would fail fails here, before anything is proven
        with proving_bar(f"chain of {', '.join(call.steps)}", False, json_out) as report:
            return prove_chain(runner, call, progress=report.progress)
    except errors.NotChainable as exc:
        line = f"warning: not proven as one chain: {one_line(str(exc))}; the bundle keeps one receipt per step"
        err_console.print(safe(line, "yellow"), soft_wrap=True)
        return None


def show_output(result: RunResult) -> None:
    """The output as a table of its values with their provenance."""
    guests = {step: (r.guest.split("@")[0], r.image_id) for step, r in result.receipts.items()}
    console.print(provenance_table(result.output, result.provenance, guests))


def _finish(result: RunResult, json_out: bool, bundled: tuple[Path, str] | None = None) -> None:
    if json_out:
        emit(result.model_dump(mode="json") | ({"bundle": str(bundled[0])} if bundled else {}), True)
    else:
        colour = "green" if result.status == RunStatus.SUCCEEDED else "red"
        console.print(
            Text.assemble(
                "run ",
                (plain(result.run_id), "bold"),
                ": ",
                (plain(result.status), colour),
                f" ({result.executed} executed, {result.cached} from cache)",
            )
        )
        if result.error:
            err_console.print(safe(one_line(result.error), "red"), soft_wrap=True)
        if result.status == RunStatus.SUCCEEDED:
            show_output(result)
        if bundled:
            console.print(safe(bundled[1]))
    if result.status != RunStatus.SUCCEEDED:
        raise typer.Exit(EXIT_FAILED)


def run(
    pipeline: Path = typer.Argument(..., help="A pipeline YAML file (see examples/)."),
    input: str = typer.Option("{}", "--input", "-i", help="Pipeline input: JSON text, @file, or @- (stdin)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Execute every step even if its result is cached."),
    workers: int = typer.Option(2, "--workers", min=1, help="Worker processes for independent steps."),
    secrets_dir: Path = SECRETS_DIR_OPT,
    cluster: str = CLUSTER_OPT,
    bundle: Path = typer.Option(None, "--bundle", help=BUNDLE_HELP),
    chain: bool = typer.Option(False, "--chain", help=f"With --bundle: {CHAIN_HELP}"),
    json_out: bool = JSON_OPT,
) -> None:
    """Run a pipeline; exit 1 if it fails. Finished steps are journaled: `loom runs resume` continues a run.

    The output is shown value by value: 'proven' when a verified receipt's journal states it, 'host' when it was
    computed or given outside the zkVM."""
    check_out_path(bundle)
    if chain and not bundle:
        raise errors.InvalidInput("--chain makes the bundle's receipt: give --bundle FILE too")
    spec = load_pipeline(pipeline)
    document = _decode(read_input(input))
    runner = Runner(workers=workers, secrets=use_secrets_dir(secrets_dir), cluster=cluster)
    result = _run_with_display(json_out, lambda events: runner.run(spec, document, no_cache=no_cache, events=events))
    bundled = None
    if bundle and result.status == RunStatus.SUCCEEDED:
        bundled = bundle, _write_bundle(runner, result.run_id, bundle, chain=chain, json_out=json_out)
    _finish(result, json_out, bundled)


@app.command("list")
def list_(json_out: bool = JSON_OPT, limit: int = typer.Option(20, help="How many runs, newest first.")) -> None:
    """List recent runs."""
    runs = Runner().journal.runs(limit)
    if json_out:
        emit([r.model_dump(exclude={"spec"}) for r in runs], True)
        return
    table = Table("run", "pipeline", "status", "started", "seconds", "error")
    for r in runs:
        seconds = f"{r.finished_at - r.created_at:.1f}" if r.finished_at else "-"
        table.add_row(
            safe(r.run_id),
            safe(r.pipeline),
            _status(r.status),
            datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            seconds,
            safe(one_line((r.error or "")[:60])),
        )
    console.print(table)


@app.command()
def show(run_id: str = typer.Argument(...), json_out: bool = JSON_OPT) -> None:
    """Show a run's steps: attempts, durations, cache hits and errors, and the HTTP requests its steps made."""
    journal = Runner().journal
    run_ = journal.run(run_id)
    if run_ is None:
        raise errors.InvalidInput(f"no run {run_id}")
    attempts = journal.attempts(run_id)
    requests = journal.http_requests(run_id)
    outcome = Runner().outcome(run_id)
    if json_out:
        emit(
            {
                "run": run_.model_dump(exclude={"spec"}),
                "attempts": [a.model_dump() for a in attempts],
                "output": outcome.output,
                "provenance": [p.model_dump(mode="json") for p in outcome.provenance],
                "receipts": {step: r.model_dump(mode="json") for step, r in outcome.receipts.items()},
                "http_requests": [r.model_dump() for r in requests],
                "logs": [line.model_dump() for line in journal.logs(run_id)],
            },
            True,
        )
        return
    table = Table(
        "step",
        "attempt",
        "status",
        "activity",
        "seconds",
        "output",
        "error",
        title=safe(f"{run_.run_id} ({run_.pipeline}): {run_.status}"),
        title_justify="left",
    )
    for a in attempts:
        table.add_row(
            safe(a.step),
            str(a.attempt),
            _status(a.status),
            safe(a.activity),
            f"{a.seconds:.2f}" if a.seconds is not None else "-",
            safe((a.output_blob or "-")[:12]),
            safe(one_line(f"{a.error_type}: {a.error}"[:70] if a.error else "")),
        )
    console.print(table)
    if requests:
        console.print(_http_table(requests))
    if outcome.status == RunStatus.SUCCEEDED:
        show_output(outcome)


def _http_table(requests: list[HttpRequest]) -> Table:
    """The HTTP requests the run's steps made (loom_http), as the journal keeps them: no headers, no secrets."""
    table = Table(
        "step", "method", "url", "status", "bytes", "sha256", "ms", title="HTTP requests", title_justify="left"
    )
    for r in requests:
        table.add_row(
            safe(r.step),
            safe(r.method),
            safe(r.url[:80]),
            str(r.status) if r.status is not None else safe(one_line(r.error or "-")[:60], "red"),
            f"{r.response_bytes:,}" if r.response_bytes is not None else "-",
            safe((r.response_sha256 or "-")[:12]),
            str(r.ms),
        )
    return table


@app.command("bundle")
def bundle_(
    run_id: str = typer.Argument(...),
    out: Path = typer.Option(..., "--out", "-o", help="The bundle file to write."),
    chain: bool = typer.Option(False, "--chain", help=CHAIN_HELP),
    json_out: bool = JSON_OPT,
) -> None:
    """Write a finished run's result as a bundle: its output, each value's provenance and the receipts that prove
    them, in one file that `loom verify` checks on any machine."""
    check_out_path(out)
    line = _write_bundle(Runner(), run_id, out, chain=chain, json_out=json_out)
    if json_out:
        emit({"run_id": run_id, "bundle": str(out)}, True)
    else:
        console.print(safe(line))


@app.command()
def resume(
    run_id: str = typer.Argument(...),
    secrets_dir: Path = SECRETS_DIR_OPT,
    cluster: str = CLUSTER_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Continue a run from its journal without redoing finished steps."""
    runner = Runner(secrets=use_secrets_dir(secrets_dir), cluster=cluster)
    _finish(_run_with_display(json_out, lambda events: runner.resume(run_id, events=events)), json_out)
