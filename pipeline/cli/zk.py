"""``loom zk``: image IDs, execution, proving (with a progress bar per segment) and verification of receipts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from pipeline import errors, tlsn, zk
from pipeline.cli import tlsn as tlsn_cli
from pipeline.cli.output import (
    CLUSTER_OPT,
    JSON_OPT,
    PROVING_PHASES,
    check_out_path,
    console,
    emit,
    err_console,
    markup_safe,
    plain,
    print_json,
    read_input,
    safe,
)
from pipeline.core import MAX_SEGMENT_PO2, MIN_SEGMENT_PO2, ReceiptKind, write_atomic
from pipeline.store import default_blobstore
from pipeline.zk import SegmentPlan

app = typer.Typer(help="RISC Zero: image IDs, execute, prove and verify guests.", no_args_is_help=True)

INPUT_OPT = typer.Option(..., "--input", "-i", help="The guest's input document: JSON text, @file, or @- (stdin).")
GUEST_ARG = typer.Argument(..., help="A built guest's name (see `loom zk image-id --all`) or a path to an ELF.")
SEGMENT_PO2_OPT = typer.Option(
    None,
    "--segment-po2",
    min=MIN_SEGMENT_PO2,
    max=MAX_SEGMENT_PO2,
    help=f"Segment size as a power of two cycles, {MIN_SEGMENT_PO2} to {MAX_SEGMENT_PO2}: "
    "smaller segments need less memory. A proof picks, by default, the size that proves in the fewest rows "
    "among those that fit the memory.",
)
OUT_OPT = typer.Option(
    None, "--out", "-o", help="Write the receipt (risc0 bincode) to this file (checked before proving)."
)
KIND_OPT = typer.Option(ReceiptKind.composite, "--kind", help="composite or succinct.")
DEV_MODE_OPT = typer.Option(False, "--dev-mode", help="Fake receipt for development: proves NOTHING.")
JOURNAL_HINT = "use --json, or pipe the output, to get all of it"


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
    segment_po2: int = SEGMENT_PO2_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Run a guest without proving: its journal and cycle counts."""
    g = zk.load_guest(guest)
    run = zk.execute(g.elf, read_input(input), segment_limit_po2=segment_po2)
    _emit_with_journal(
        {"guest": g.name, "image_id": g.image_id, **run.model_dump(exclude={"journal"})},
        zk.decode_journal(run.journal),
        json_out,
        title="Execution",
    )


@app.command()
def prove(
    guest: str = GUEST_ARG,
    input: str = INPUT_OPT,
    kind: ReceiptKind = KIND_OPT,
    out: Path = OUT_OPT,
    segment_po2: int = SEGMENT_PO2_OPT,
    dev_mode: bool = DEV_MODE_OPT,
    cluster: str = CLUSTER_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Prove a guest on an input; shows a progress bar per segment and writes the receipt."""
    check_out_path(out)
    g = zk.load_guest(guest)
    with proving_bar(g.name, dev_mode, json_out, cluster) as report:
        proof = zk.prove(
            g.elf,
            read_input(input),
            kind=kind,
            segment_limit_po2=segment_po2,
            dev_mode=dev_mode,
            progress=report.progress,
            on_plan=report.plan,
            cluster=cluster,
        )
    kept = keep_receipt(proof.receipt, out)
    facts = {
        "guest": g.name,
        "image_id": g.image_id,
        "kind": proof.receipt.kind + (" (DEV MODE: proves nothing)" if proof.receipt.is_dev_mode else ""),
        "segments": proof.execution.segments,
        "total_cycles": proof.execution.total_cycles,
        "seal_size": proof.receipt.seal_size,
        "receipt_file": str(out) if out else None,
        "receipt_blob": kept,
    }
    _emit_with_journal(facts, zk.decode_journal(proof.receipt.journal), json_out, title="Proof")


def keep_receipt(receipt: zk.Receipt, out: Path | None) -> str | None:
    """Puts a made receipt in the blob store, then writes ``--out`` whole or not at all: a proof can take an hour,
    and a full disk or a bad path must not lose it. Returns the receipt's blob digest (None if the store failed)."""
    blobs = default_blobstore()
    try:
        digest: str | None = zk.store_receipt(receipt, blobs)
    except errors.StoreFailed:  # a full disk: --out may still have room elsewhere
        digest = None
    if out is not None:
        try:
            write_atomic(out, receipt.to_bytes())
        except errors.InvalidInput as exc:
            kept = f"the receipt is kept at {blobs.path(digest)}" if digest else "the receipt could not be kept"
            raise errors.InvalidInput(f"{exc}; {kept}") from None
    return digest


def _emit_with_journal(facts: dict[str, Any], journal: Any, json_out: bool, title: str) -> None:
    """The facts as a table and then the journal, which is as large as the guest made it, as bounded JSON
    (``--json`` prints everything)."""
    if json_out:
        emit({**facts, "journal": journal}, True)
        return
    emit(facts, False, title=title)
    console.print(Text("journal", style="bold cyan"))
    print_json(journal, hint=JOURNAL_HINT)


@dataclass(frozen=True)
class ProvingReport:
    """The callbacks a proof reports through: the segment size chosen, then its progress."""

    plan: Callable[[SegmentPlan], None]
    progress: zk.Progress


@contextmanager
def proving_bar(name: str, dev_mode: bool, json_out: bool, cluster: str | None = None) -> Iterator[ProvingReport]:
    """A progress bar over the proof's segments (then recursion), on stderr, after a line saying where it is proven
    and in which segments."""
    if dev_mode:
        err_console.print("[bold yellow]DEV MODE[/]: the receipt is fake and proves nothing.")
    # an unreachable cluster or a missing extra is one line, before any progress is shown
    if cluster:
        zk.connect_cluster(cluster)
    memory = f"{zk.machine_memory() / 2**30:.0f} GiB of memory"
    where = f"on the Ray cluster {markup_safe(cluster)}" if cluster else f"here ({memory})"
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=json_out, disable=json_out) as bar:
        shown = markup_safe(name)  # a file's name: the description is parsed as markup
        task = bar.add_task(f"proving {shown}", total=None)

        def plan(chosen: SegmentPlan) -> None:
            if not json_out:
                bar.console.print(f"proving {where} in {chosen.describe()}")

        def progress(phase: zk.ProvingPhase, done: int, total: int) -> None:
            label = PROVING_PHASES.get(phase, markup_safe(phase))
            bar.update(task, description=f"proving {shown}: {label}", completed=done, total=total)

        yield ProvingReport(plan=plan, progress=progress)


@app.command("tlsn-claim")
def tlsn_claim(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=tlsn_cli.PRESENTATION_HELP),
    notary_key: list[str] = tlsn_cli.NOTARY_KEY_OPT,
    notaries: Path = tlsn_cli.NOTARIES_OPT,
    claim: str = typer.Option(
        None,
        "--claim",
        help="A claim over the response's JSON body: 'PATH OP VALUE' "
        "(ops: == != < <= > >= or eq ne lt le gt ge, contains), or 'PATH exists'; "
        "e.g. 'bazz == 123'.",
    ),
    bytes_at: int = typer.Option(None, "--bytes-at", help="A claim over raw transcript bytes: their offset..."),
    bytes_text: str = typer.Option(None, "--bytes-text", help="...and the text they equal (or --bytes-hex)."),
    bytes_hex: str = typer.Option(None, "--bytes-hex", help="...or the bytes they equal, in hex."),
    sent: bool = typer.Option(False, "--sent", help="The bytes claim is over the request (default: the response)."),
    server: str = tlsn_cli.SERVER_OPT,
    now: int = tlsn_cli.NOW_OPT,
    max_age: int = tlsn_cli.MAX_AGE_OPT,
    root: list[Path] = tlsn_cli.ROOT_OPT,
    no_mozilla_roots: bool = tlsn_cli.NO_MOZILLA_ROOTS_OPT,
    reveal: bool = typer.Option(
        False, "--reveal", help="Also put the revealed transcript in the journal (by default only its SHA-256 is)."
    ),
    kind: ReceiptKind = KIND_OPT,
    out: Path = OUT_OPT,
    segment_po2: int = SEGMENT_PO2_OPT,
    dev_mode: bool = DEV_MODE_OPT,
    cluster: str = CLUSTER_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """zkTLS: prove in RISC Zero that a presentation verifies and whether a claim about its transcript holds.

    The journal names the notary, server, session time and the claim's truth; not the transcript.

    A presentation that fails the policy gets no receipt (exit 1, with the reason); a false claim gets one.
    """
    check_out_path(out)
    trust = tlsn_cli.notary_trust(notary_key, notaries)
    policy = tlsn_cli.make_policy(trust, server, now, max_age, root, no_mozilla_roots)
    json_claim = tlsn.JsonClaim.parse(claim) if claim is not None else None
    bytes_claim = None
    if bytes_at is not None or bytes_text is not None or bytes_hex is not None:
        if bytes_at is None:
            raise errors.InvalidInput("--bytes-text/--bytes-hex need --bytes-at")
        try:
            bytes_claim = tlsn.BytesClaim(
                direction="sent" if sent else "received", start=bytes_at, text=bytes_text, hex=bytes_hex
            )
        except ValueError as exc:
            raise errors.InvalidInput(f"bytes claim: {exc}") from None
    loaded = tlsn_cli.load_presentation(file)
    signer = _trusted_signer(loaded.data, policy, trust)
    started = time.monotonic()
    with proving_bar(tlsn.CLAIM_GUEST, dev_mode, json_out, cluster) as report:
        receipt = tlsn.prove_claim(
            loaded.data,
            policy,
            json_claim,
            bytes_claim=bytes_claim,
            reveal=reveal,
            kind=kind,
            segment_limit_po2=segment_po2,
            dev_mode=dev_mode,
            progress=report.progress,
            on_plan=report.plan,
            cluster=cluster,
        )
    seconds = time.monotonic() - started
    keep_receipt(receipt, out)
    journal = tlsn.decode_claim(receipt.journal)
    if json_out:
        emit(
            {
                "image_id": zk.load_guest(tlsn.CLAIM_GUEST).image_id,
                "kind": receipt.kind,
                "dev_mode": receipt.is_dev_mode,
                "journal": journal.model_dump(mode="json"),
                "seconds": round(seconds, 1),
                "receipt_file": str(out) if out else None,
                "encoding": loaded.encoding,
                "notary_name": signer.name,
            },
            True,
        )
        return
    show_claim(journal)
    console.print(
        Text.assemble(
            "presentation read as ",
            tlsn_cli.encoding_text(loaded),
            plain(f"; signed by notary {signer.name!r} of your trust file") if signer.name else "",
        )
    )
    console.print(
        Text.assemble(
            f"{receipt.kind} receipt, {receipt.seal_size:,} bytes of seal, proved in {seconds:.0f} s",
            f", written to {plain(out)}" if out else "",
            (" (DEV MODE: proves nothing)", "bold yellow") if receipt.is_dev_mode else "",
        )
    )


def _trusted_signer(presentation: bytes, policy: tlsn.Policy, trust: tlsn.Trust) -> tlsn.TrustedNotary:
    """The notary that signed, checked natively (milliseconds) before a proof (minutes): a presentation that the
    policy or the trust file refuses gets no proof started, with the same verifier's reason."""
    verified = tlsn.verify_presentation(presentation, policy)
    return trust.signer(verified.notary.algorithm, verified.notary.key, verified.time)


def show_claim(j: tlsn.ClaimJournal) -> None:
    """A tlsn-claim journal as sentences: who said what, and whether the claims hold. Everything in it came from
    a presentation (or a receipt file), so it is shown as inert text; only Loom's own words are styled."""
    table = Table(title="zkTLS claim", show_header=False, title_justify="left")
    table.add_column(style="bold cyan")
    table.add_column(overflow="fold")
    table.add_row("server", safe(j.server) if j.server else Text("not proven (identity not required)", style="yellow"))
    table.add_row("session time", f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(j.time))} ({j.time})")
    table.add_row(
        "notary",
        Text.assemble(plain(f"{j.notary.algorithm} {j.notary.key} "), ("(trust it? that is your decision)", "dim")),
    )
    for name, d in (("sent", j.transcript.sent), ("received", j.transcript.received)):
        revealed = sum(e - s for s, e in d.authenticated)
        table.add_row(name, safe(f"{d.length} bytes, {revealed} revealed, sha256 {d.sha256}"))
    mark = {True: ("holds", "green"), False: ("does not hold", "red")}
    if j.claim:
        c = j.claim.claim
        value = "" if c.op == "exists" else f" {c.value!r}"
        found = "" if j.claim.found else " (path not found)"
        table.add_row(
            "claim", Text.assemble(plain(f"response JSON: {c.path} {c.op}{value}: "), mark[j.claim.holds], found)
        )
    if j.bytes:
        b = j.bytes.claim
        want = repr(b.text) if b.text is not None else f"hex {b.hex}"
        unrevealed = "" if j.bytes.revealed else " (not all revealed)"
        table.add_row(
            "bytes claim",
            Text.assemble(plain(f"{b.direction} bytes at {b.start} = {want}: "), mark[j.bytes.holds], unrevealed),
        )
    table.add_row(
        "verdict",
        Text("✓ every claim holds", style="bold green")
        if j.holds
        else Text("✗ a claim does not hold", style="bold red"),
    )
    console.print(table)


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
    r = zk.read_receipt(receipt)
    journal = zk.verify(r, expected, allow_dev_mode=allow_dev_mode)
    if r.is_dev_mode:
        err_console.print("[bold yellow]DEV MODE[/]: accepted a fake receipt because --allow-dev-mode was given.")
    claim = _as_claim(journal)
    if claim is not None and not json_out:
        show_claim(claim)
    else:
        _emit_with_journal(
            {"verified": True, "image_id": expected, "kind": r.kind},
            zk.decode_journal(journal),
            json_out,
            title="Receipt verified",
        )
    if not json_out:
        console.print(Text.assemble((f"✓ {r.kind} receipt verifies", "green"), f" for image {plain(expected)}"))


def _as_claim(journal: bytes) -> tlsn.ClaimJournal | None:
    """The journal as a tlsn-claim journal, when it is one."""
    try:
        return tlsn.decode_claim(journal)
    except errors.ReceiptInvalid:
        return None
