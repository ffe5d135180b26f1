"""The table people read a result by: each output value, and whether a receipt proves it or the host says so."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from pipeline.cli.output import plain, safe
from pipeline.core import compact_json
from pipeline.flow import Provenance, Source, dotted, value_at
from pipeline.results import ValueCheck

VALUE_WIDTH = 48
"""Characters of a value shown in the table; ``--json`` has all of it."""


def _value(value: Any) -> Text:
    text = compact_json(value)
    return safe(text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 3] + "...")


def _source(source: Source) -> Text:
    return Text(source.value, style="bold green" if source is Source.proven else "yellow")


def provenance_table(
    output: Any, provenance: Sequence[Provenance], guests: Mapping[str, tuple[str, str]], *, title: str = "output"
) -> Table:
    """A row per provenance entry; ``guests`` maps a proven step to its (guest, image ID)."""
    table = Table("output", "value", "source", "proven by / computed by", title=title, title_justify="left")
    for entry in provenance:
        table.add_row(
            safe(dotted(entry.path)), _value(value_at(output, entry.path)[1]), _source(entry.source), _by(entry, guests)
        )
    return table


def _by(entry: Provenance | ValueCheck, guests: Mapping[str, tuple[str, str]]) -> Text:
    if entry.source is Source.host:
        return Text(plain(entry.why), style="dim")
    guest, image = guests.get(entry.step or "", ("?", "?"))
    field = f"journal.{entry.journal_path}" if entry.journal_path else "the journal"
    return Text.assemble((plain(guest), "bold"), plain(f" {image[:8]}  {field}"))


def checked_table(checks: Sequence[ValueCheck]) -> Table:
    """``loom verify``'s table: each value, what proves it, and whether that held."""
    table = Table(
        "output", "value", "source", "proven by / computed by", "verified", title="bundle", title_justify="left"
    )
    for check in checks:
        guests = {check.step or "": (check.guest or "?", check.image_id or "?")}
        mark = (
            Text("-", style="dim")
            if check.verified is None
            else Text("✓", style="bold green")
            if check.verified
            else Text("✗", style="bold red")
        )
        table.add_row(safe(dotted(check.path)), _value(check.value), _source(check.source), _by(check, guests), mark)
    return table
