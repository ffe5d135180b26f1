"""Output conventions shared by every command: rich tables for people, ``--json`` for scripts, and exit codes.

Exit codes: 0 success, 1 the work ran and failed (a run failed, a proof did not verify), 2 bad usage or input,
3 a limit was hit (timeout, memory), 4 a capability was denied.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from pipeline import errors

console = Console()
err_console = Console(stderr=True)
for _c in (console, err_console):
    if not _c.is_terminal:  # pipes and CI logs: don't fold hex digests at 80 columns
        _c.width = max(_c.width, 140)

EXIT_FAILED, EXIT_USAGE, EXIT_LIMIT, EXIT_DENIED = 1, 2, 3, 4


def exit_code_for(exc: errors.LoomError) -> int:
    if isinstance(exc, (errors.ActivityTimeout, errors.ActivityOutOfMemory)):
        return EXIT_LIMIT
    if isinstance(exc, errors.CapabilityDenied):
        return EXIT_DENIED
    if isinstance(exc, (errors.InvalidInput, errors.InvalidModule, errors.ActivityNotFound, errors.BlobNotFound)):
        return EXIT_USAGE
    return EXIT_FAILED


def emit(data: Any, json_out: bool, title: str | None = None) -> None:
    """Print ``data`` as JSON (``--json``) or as a readable key/value table."""
    if json_out:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        return
    if isinstance(data, dict):
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column(style="bold cyan")
        table.add_column(overflow="fold")
        for key, value in data.items():
            table.add_row(str(key), value if isinstance(value, str) else json.dumps(value, default=str))
        console.print(table)
    else:
        console.print(data)


def read_input(value: str) -> bytes:
    """An ``--input`` value: inline JSON text, ``@path`` to read a file, or ``@-`` for standard input."""
    if not value.startswith("@"):
        return value.encode()
    source = value[1:]
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        with open(source, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise errors.InvalidInput(f"cannot read input file {source!r}: {exc.strerror}") from None


def run_app(app: typer.Typer) -> None:
    """Run the CLI; a ``LoomError`` becomes one red line on stderr and its exit code, never a traceback.
    (Usage errors are typer's own: exit code 2.)"""
    try:
        app()
    except errors.LoomError as exc:
        err_console.print(f"[bold red]error[/]: {type(exc).__name__}: {exc}")
        raise SystemExit(exit_code_for(exc)) from None
