"""The ``loom`` command line. Each area (activities, zk, tlsn, runs) is a sub-command group of its own module."""

from __future__ import annotations

import platform
from importlib.metadata import version

import typer

from pipeline import __version__, _native
from pipeline.cli import activity, bench, doctor, runs, serve, tlsn, verify, zk
from pipeline.cli.output import JSON_OPT, emit, run_app
from pipeline.core import data_dir, loom_home

app = typer.Typer(
    name="loom",
    help="Loom: verifiable computation pipelines (WebAssembly sandboxes, TLSNotary, RISC Zero).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(activity.app, name="activity")
app.add_typer(tlsn.app, name="tlsn")
app.add_typer(zk.app, name="zk")
app.add_typer(runs.app, name="runs")
app.command("run")(runs.run)
app.command("verify")(verify.verify)
app.add_typer(bench.app, name="bench")
app.command("doctor")(doctor.doctor)
app.add_typer(serve.app, name="serve")


@app.command()
def info(json_out: bool = JSON_OPT) -> None:
    """Show versions of Loom, its native module, wasmtime and Python, where Loom keeps its data, and where its \
shipped files are."""  # one line: it is the command's summary in `loom --help`
    facts = {
        "loom": __version__,
        "native": _native.__version__,
        **{f"native.{k}": v for k, v in _native.build_info().items()},
        "wasmtime": version("wasmtime"),
        "python": platform.python_version(),
        "loom_home": str(loom_home()),
        "data_dir": str(data_dir()),
    }
    emit(facts, json_out, title="Loom")


def main() -> None:
    """Console-script entry point: maps Loom errors to exit codes (see ``pipeline.cli.output``)."""
    run_app(app)
