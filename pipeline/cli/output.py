"""Output conventions shared by every command: rich tables for people, ``--json`` for scripts, and exit codes.

Exit codes: 0 success, 1 the work ran and failed (a run failed, a proof did not verify), 2 bad usage or input,
3 a limit was hit (timeout, memory, output size), 4 a capability was denied, 5 the cluster cannot be used, 6 the
data dir cannot be read or written: ``LoomError.exit_code``. Loom's warnings are one yellow line on stderr.

Untrusted text (guest logs and errors, activity outputs, transcripts, journaled errors, names from files) reaches
the console only through :func:`safe`, :func:`plain`, :func:`one_line`, :func:`markup_safe` or :func:`print_json`:
never as rich markup, and with every character that could steer the terminal shown as an escape.
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline import errors
from pipeline.core import INPUT_BYTES, UNSAFE_BEYOND_C0, inert_text, read_bounded, validation_problem, write_atomic
from pipeline.zk import ProvingPhase

console = Console()
err_console = Console(stderr=True)
for _c in (console, err_console):
    if not _c.is_terminal:  # pipes and CI logs: don't fold hex digests at 80 columns
        _c.width = max(_c.width, 140)

EXIT_FAILED = 1  # the work ran and failed; each LoomError carries its own exit_code

PROVING_PHASES = {
    ProvingPhase.SEGMENT: "segments proved",
    ProvingPhase.LIFT: "segments lifted (succinct)",
    ProvingPhase.JOIN: "receipts joined (succinct)",
    ProvingPhase.RESOLVE: "assumptions resolved (succinct)",
}
"""How a proof's progress phases (``pipeline.zk.Progress``) read in a progress bar."""

TERMINAL_BOUND = 256 * 1024
"""Bytes of JSON output printed to a terminal; the rest is left out (pipes and files get everything)."""

plain = inert_text
"""Untrusted text made inert: each unsafe character shown as a Python-style escape (``\\x1b``, ``\\u202e``)."""
_UNSAFE_IN_JSON = re.compile(f"[{UNSAFE_BEYOND_C0}]")  # json.dumps escapes C0 in strings; its raw newlines are indents

JSON_OPT = typer.Option(False, "--json", help="Print JSON for scripts (on stdout; errors stay one line on stderr).")
CLUSTER_OPT = typer.Option(
    None,
    "--cluster",
    envvar="LOOM_CLUSTER",
    help="Prove (and run steps) on this Ray cluster: 'auto', the head's HOST:PORT, or ray://HOST:PORT. "
    "Needs the cluster extra (pip install 'loom-verifiable[cluster]'). Default: $LOOM_CLUSTER, else here.",
)
SECRETS_DIR_OPT = typer.Option(
    None,
    "--secrets-dir",
    file_okay=False,
    help="A directory of secrets, one file per "
    "secret named after it, readable by its owner only (chmod 600); read after "
    "LOOM_SECRET_<name> variables. Default: $LOOM_SECRETS_DIR (set for workers too).",
)


def one_line(text: object) -> str:
    """Untrusted text as one inert line: line breaks collapse to spaces, so a message never spans or fakes lines."""
    return plain(" ".join(part.strip() for part in str(text).splitlines() if part.strip()))


def safe(text: object, style: str = "") -> Text:
    """Untrusted text for rich: a ``Text``, so ``[...]`` is shown and never parsed as markup."""
    return Text(plain(text), style=style)


def safe_lines(text: str) -> Text:
    """Untrusted multi-line text (a transcript): line breaks kept, CRLF shown as one, everything else escaped."""
    return Text("\n".join(plain(line) for line in re.split(r"\r?\n", text)))


def markup_safe(text: object) -> str:
    """Untrusted text to embed in a markup string, for the places rich always parses (progress descriptions)."""
    return escape(plain(text))


def emit(data: Any, json_out: bool, title: str | None = None) -> None:
    """Print ``data`` as JSON (``--json``) or as a readable key/value table of inert text."""
    if json_out:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        return
    if isinstance(data, dict):
        table = Table(title=safe(title) if title else None, show_header=False, title_justify="left")
        table.add_column(style="bold cyan")
        table.add_column(overflow="fold")
        for key, value in data.items():
            table.add_row(safe(key), safe(value if isinstance(value, str) else json.dumps(value, default=str)))
        console.print(table)
    else:
        console.print(safe(json.dumps(data, default=str)))


def json_text(value: Any, *, indent: int | None = None) -> str:
    """JSON that is safe on a terminal and still valid: non-ASCII kept, unsafe characters as ``\\uXXXX`` escapes
    (``json`` escapes only C0; outside strings it writes nothing but ASCII punctuation and indentation)."""
    separators = None if indent is not None else (",", ":")
    text = json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, default=str)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _bounded(text: str, limit: int) -> tuple[str, int]:
    """At most ``limit`` bytes of ``text``, cut after a line when there is one; and how many bytes were cut."""
    data = text.encode()
    if len(data) <= limit:
        return text, 0
    cut = data.rfind(b"\n", 0, limit) + 1 or limit
    return data[:cut].decode(errors="ignore").rstrip("\n") + "\n", len(data) - cut


def print_json(value: Any, hint: str) -> None:
    """Print a JSON value of any size straight to stdout (rich's ``print_json`` takes seconds per MiB): indented
    for a terminal, compact for pipes. A terminal gets at most ``TERMINAL_BOUND`` bytes, then one line on stderr
    saying how much was left out and, in ``hint``, how to get all of it."""
    terminal = console.is_terminal
    text, left_out = json_text(value, indent=2 if terminal else None) + "\n", 0
    if terminal:
        text, left_out = _bounded(text, TERMINAL_BOUND)
    console.file.write(text)
    console.file.flush()
    if left_out:
        err_console.print(Text(f"... {left_out:,} more bytes not shown: {hint}", style="yellow"), soft_wrap=True)


def write_json(value: Any, path: Path) -> int:
    """Write a JSON value to ``path`` (compact, as a pipe gets it); returns the bytes written."""
    data = (json_text(value) + "\n").encode()
    write_atomic(path, data)
    return len(data)


def check_out_path(path: Path | None) -> None:
    """Refuse an output path before any work is done, so a result (a proof can take an hour) is never made only to
    be lost to a path that cannot be written."""
    if path is None:
        return
    folder = path.parent
    if path.is_dir():
        raise errors.InvalidInput(f"--out {path} is a directory, not a file")
    if not folder.is_dir():
        raise errors.InvalidInput(f"--out {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise errors.InvalidInput(f"--out {path} is not writable")


def read_input(value: str) -> bytes:
    """An ``--input`` value: inline JSON text, ``@path`` to read a file, or ``@-`` for standard input; a file or
    stream is read within the bound of what any activity accepts."""
    if not value.startswith("@"):
        return value.encode()
    source = value[1:]
    if source == "-":
        return read_bounded(sys.stdin.buffer, INPUT_BYTES, "--input @- (standard input)")
    return read_bounded(source, INPUT_BYTES, "input file")


def run_app(app: typer.Typer) -> None:
    """Run the CLI; a ``LoomError`` becomes one red line on stderr and its exit code, never a traceback.
    Its message is untrusted (guests write many of them): shown as inert text, on one line.
    (Usage errors are typer's own: exit code 2.)"""
    warnings.showwarning = _warning_line
    try:
        app()
    except errors.LoomError as exc:
        _error_line(type(exc).__name__, exc)
        raise SystemExit(exc.exit_code) from None
    except ValidationError as exc:  # an option that no model accepts (a limit out of range, an unknown grant)
        _error_line("InvalidInput", validation_problem(exc))
        raise SystemExit(errors.InvalidInput.exit_code) from None


_python_warning = warnings.showwarning


def _warning_line(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """Loom's own warnings as one line (``warning: ...``); any other as Python shows it."""
    if issubclass(category, errors.ClusterWithoutToken):
        err_console.print(Text.assemble(("warning", "bold yellow"), ": ", one_line(message)), soft_wrap=True)
    else:
        _python_warning(message, category, *args, **kwargs)


def _error_line(kind: str, message: object) -> None:
    err_console.print(Text.assemble(("error", "bold red"), f": {kind}: ", one_line(message)), soft_wrap=True)
