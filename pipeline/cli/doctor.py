"""``loom doctor``: the whole data dir checked at once, and what is damaged in it moved aside."""

from __future__ import annotations

import typer
from rich.table import Table

from pipeline import errors
from pipeline.cli.output import JSON_OPT, console, emit, safe
from pipeline.store import Health, examine

STYLE = {Health.ok: "green", Health.warning: "yellow", Health.damaged: "bold red", Health.repaired: "cyan"}


def doctor(
    repair: bool = typer.Option(
        False, "--repair", help="Move what is damaged into damaged/<time>/ in the data dir (nothing is deleted)."
    ),
    json_out: bool = JSON_OPT,
) -> None:
    """Check the data dir: the journal and registry (SQLite's integrity_check), every blob re-hashed, run locks, \
and what the registry and journal name. Exit 6 while anything is damaged."""
    checkup = examine(repair=repair)
    if json_out:
        emit(
            {
                "home": str(checkup.home),
                "findings": [{"part": f.part, "health": f.health, "detail": f.detail} for f in checkup.findings],
                "moved_to": str(checkup.aside) if checkup.aside else None,
                "damaged": checkup.damaged,
            },
            True,
        )
    else:
        table = Table("part", "health", "detail", title=safe(f"data dir {checkup.home}"), title_justify="left")
        for finding in checkup.findings:
            table.add_row(safe(finding.part), safe(finding.health, STYLE[finding.health]), safe(finding.detail))
        console.print(table)
    if checkup.damaged:
        raise errors.StoreCorrupted(
            f"{checkup.damaged} part(s) of the data dir {checkup.home} are damaged: `loom doctor --repair` moves "
            "them aside"
        )
