"""``loom zk``: image IDs, execution, proving (with a progress bar per segment) and verification of receipts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline import errors, zk
from pipeline.cli.output import console, emit, err_console, read_input

app = typer.Typer(help="RISC Zero: image IDs, execute, prove and verify guests.", no_args_is_help=True)

JSON_OPT = typer.Option(False, "--json", help="Print JSON for scripts.")
INPUT_OPT = typer.Option(..., "--input", "-i", help="The guest's input document: JSON text, @file, or @- (stdin).")
GUEST_ARG = typer.Argument(..., help="A built guest's name (see `loom zk image-id --all`) or a path to an ELF.")


@app.command("image-id")
def image_id(
    guests: list[str] = typer.Argument(None, help="Guest names or ELF paths."),
    all_guests: bool = typer.Option(False, "--all", help="Every guest `make` built."),
    json_out: bool = JSON_OPT,
) -> None:
    """Print the image ID of each guest: the program identity a receipt must name."""
    names = zk.guest_names() if all_guests else (guests or [])
    if not names:
        raise errors.InvalidInput("name at least one guest, or pass --all")
    emit({g.name: g.image_id for g in map(zk.load_guest, names)}, json_out, title="Image IDs")


@app.command()
def execute(
    guest: str = GUEST_ARG,
    input: str = INPUT_OPT,
    segment_po2: int = typer.Option(None, "--segment-po2", help="Segment size as a power of two (cycles)."),
    json_out: bool = JSON_OPT,
) -> None:
    """Run a guest without proving: its journal and cycle counts."""
    g = zk.load_guest(guest)
    run = zk.execute(g.elf, read_input(input), segment_limit_po2=segment_po2)
    emit({"guest": g.name, "image_id": g.image_id, "journal": zk.decode_journal(run.journal),
          **run.model_dump(exclude={"journal"})}, json_out, title="Execution")


@app.command()
def prove(
    guest: str = GUEST_ARG,
    input: str = INPUT_OPT,
    kind: zk.ReceiptKind = typer.Option(zk.ReceiptKind.composite, "--kind", help="composite or succinct."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the receipt (risc0 bincode) to this file."),
    segment_po2: int = typer.Option(None, "--segment-po2", help="Segment size as a power of two (cycles)."),
    dev_mode: bool = typer.Option(False, "--dev-mode", help="Fake receipt for development: proves NOTHING."),
    json_out: bool = JSON_OPT,
) -> None:
    """Prove a guest on an input; shows a progress bar per segment and writes the receipt."""
    g = zk.load_guest(guest)
    if dev_mode:
        err_console.print("[bold yellow]DEV MODE[/]: the receipt is fake and proves nothing.")
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=json_out, disable=json_out) as bar:
        task = bar.add_task(f"proving {g.name}", total=None)

        def progress(phase: str, done: int, total: int) -> None:
            label = "segments" if phase == "segment" else "recursion (succinct)"
            bar.update(task, description=f"proving {g.name}: {label}", completed=done, total=total)

        proof = zk.prove(g.elf, read_input(input), kind=kind, segment_limit_po2=segment_po2,
                         dev_mode=dev_mode, progress=progress)
    if out:
        out.write_bytes(proof.receipt.to_bytes())
    facts = {
        "guest": g.name,
        "image_id": g.image_id,
        "kind": proof.receipt.kind + (" (DEV MODE: proves nothing)" if proof.receipt.is_dev_mode else ""),
        "journal": zk.decode_journal(proof.receipt.journal),
        "segments": proof.execution.segments,
        "total_cycles": proof.execution.total_cycles,
        "seal_size": proof.receipt.seal_size,
        "receipt_file": str(out) if out else None,
    }
    emit(facts, json_out, title="Proof")


@app.command()
def verify(
    receipt: Path = typer.Argument(..., exists=True, dir_okay=False, help="A receipt file (risc0 bincode)."),
    image_id: str = typer.Option(None, "--image-id", help="Expected image ID (hex)."),
    guest: str = typer.Option(None, "--guest", help="Or: take the expected image ID from this built guest."),
    allow_dev_mode: bool = typer.Option(False, "--allow-dev-mode", help="Accept fake (dev-mode) receipts."),
    json_out: bool = JSON_OPT,
) -> None:
    """Verify a receipt against an image ID and print the journal it proves. Exit 1 when it does not verify."""
    if (image_id is None) == (guest is None):
        raise errors.InvalidInput("give exactly one of --image-id or --guest")
    expected = image_id or zk.load_guest(guest).image_id
    r = zk.Receipt.from_bytes(receipt.read_bytes())
    journal = zk.verify(r, expected, allow_dev_mode=allow_dev_mode)
    if r.is_dev_mode:
        err_console.print("[bold yellow]DEV MODE[/]: accepted a fake receipt because --allow-dev-mode was given.")
    emit({"verified": True, "image_id": expected, "kind": r.kind, "journal": zk.decode_journal(journal)},
         json_out, title="Receipt verified")
    if not json_out:
        console.print("[green]✓ receipt verifies[/]")
