"""``loom verify``: check a result bundle on any machine, with nothing but Loom installed."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from pipeline import errors, results
from pipeline.cli.output import JSON_OPT, console, emit, plain
from pipeline.cli.provenance import checked_table
from pipeline.core import read_bounded


def verify(
    file: Path = typer.Argument(..., help="A bundle (`loom run --bundle`, `loom runs bundle`)."),
    image_id: list[str] = typer.Option(
        None,
        "--image-id",
        help="Also trust receipts of this image ID (hex); by default only the guests this Loom ships are trusted. "
        "Repeatable.",
    ),
    require_proven: list[str] = typer.Option(
        None,
        "--require-proven",
        help="Fail unless the output value at this dot path (e.g. server, claim.value) is proven. Repeatable.",
    ),
    json_out: bool = JSON_OPT,
) -> None:
    """Verify a result bundle: every receipt against its image ID, every proven value against the journal field it
    names. Exit 0 only when all of that holds; 1 when a check fails; 2 when the file is not a bundle."""
    data = read_bounded(file, results.MAX_BYTES, "bundle")
    report = results.verify_bundle(data, image_ids=image_id or (), require_proven=require_proven or ())
    if json_out:
        emit(report.model_dump(mode="json") | {"ok": report.ok}, True)
    else:
        console.print(checked_table(report.values))
        if (c := report.chain) is not None:
            mark = ("✓", "green") if c.verified and c.trusted and not c.problem else ("✗", "red")
            console.print(
                Text.assemble(
                    mark,
                    plain(f" {c.kind} chain receipt {c.image_id[:12]}... of steps {', '.join(c.steps) or '?'}"),
                    " verifies: each step read what the spec gives for the bundle's input"
                    if not c.problem
                    else plain(f": {c.problem}"),
                )
            )
        for r in report.receipts:
            mark = ("✓", "green") if r.verified and r.trusted else ("✗", "red")
            console.print(
                Text.assemble(
                    mark,
                    plain(f" {r.kind} receipt of step {r.step}: {r.guest} {r.image_id[:12]}..."),
                    " (in the chain)" if r.chained else "",
                    plain(f" running {r.activity} (module {r.module_sha256[:12]}...)") if r.module_sha256 else "",
                    " verifies" if r.verified else " does not verify",
                    "" if r.trusted else ", for an image ID this Loom does not trust",
                )
            )
        if report.ok:
            proven = sum(v.source == "proven" for v in report.values)
            console.print(
                Text(f"✓ bundle verified: {proven} of {len(report.values)} values proven", style="bold green")
            )
    if not report.ok:
        more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise errors.BundleRefused(report.problems[0] + more)
