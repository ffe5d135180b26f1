"""``loom tlsn verify``: check a TLSNotary presentation and show what it proves."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from pipeline import errors, tlsn
from pipeline.cli.output import JSON_OPT, console, emit, plain, safe, safe_lines
from pipeline.core import TEXT_BYTES, read_bounded, validation_problem

app = typer.Typer(help="TLSNotary: verify notarized HTTPS transcripts (presentations).", no_args_is_help=True)


NOTARY_KEY_OPT = typer.Option(
    [],
    "--notary-key",
    help="A trusted notary public key: SEC1 hex (compressed or "
    "uncompressed) or a PEM public key file (a notary server's /info); repeatable.",
)
NOTARIES_OPT = typer.Option(
    None,
    "--notaries",
    dir_okay=False,
    help="A trust file of named notaries: a JSON list "
    "of {name, key (hex or PEM), valid_from?, valid_until? (unix s)}. With no --notary-key or "
    "--notaries, $LOOM_CONFIG_DIR/notaries.json (default ~/.config/loom/notaries.json) is "
    "read; no notary is trusted by default.",
)
SERVER_OPT = typer.Option(None, "--server", help="The server name the session must have been with.")
NOW_OPT = typer.Option(
    None,
    "--now",
    help="Unix time to judge the session against: a session dated after it is "
    "refused, and --max-age counts back from it. Default: the current time.",
)
MAX_AGE_OPT = typer.Option(None, "--max-age", help="Reject sessions older than this many seconds.")
ROOT_OPT = typer.Option(
    [], "--root", exists=True, dir_okay=False, help="An extra trusted root certificate (DER); repeatable."
)
NO_MOZILLA_ROOTS_OPT = typer.Option(False, "--no-mozilla-roots", help="Trust only the --root certificates.")
PRESENTATION_HELP = (
    "A presentation: TLSNotary's bincode file, tlsn-js / browser-extension JSON, or the bincode as "
    "hex or base64 text (told apart without a flag)."
)


def load_presentation(file: Path) -> tlsn.LoadedPresentation:
    """The presentation in ``file``, whatever its encoding."""
    return tlsn.read_presentation(file)


def notary_trust(notary_key: list[str], notaries: Path | None) -> tlsn.Trust:
    """The notaries the options name; with neither option, the default trust file's (an InvalidInput if absent)."""
    trusted = [_key_option(value) for value in notary_key]
    if notaries is not None:
        trusted += tlsn.load_trust_file(notaries)
    if not trusted:
        default = tlsn.default_trust_file()
        if not default.is_file():
            raise errors.InvalidInput(f"no notary is trusted: give --notary-key or --notaries, or write {default}")
        trusted += tlsn.load_trust_file(default)
    return tlsn.Trust(notaries=tuple(trusted))


def _key_option(value: str) -> tlsn.TrustedNotary:
    """A --notary-key value: a file holding a PEM (or hex) key, else the key itself. An error names the value, never
    the file's text (a private key given by mistake must not be printed)."""
    path = Path(value)
    try:
        text = read_bounded(path, TEXT_BYTES, "--notary-key file").decode(errors="replace") if path.is_file() else value
        return tlsn.TrustedNotary.parse(text)
    except errors.InvalidInput as exc:
        raise errors.InvalidInput(f"--notary-key {value[:80]!r}: {exc}") from None


def make_policy(
    trust: tlsn.Trust,
    server: str | None,
    now: int | None,
    max_age: int | None,
    root: list[Path],
    no_mozilla_roots: bool,
    *,
    require_identity: bool = True,
    require_transcript: bool = True,
) -> tlsn.Policy:
    """The policy the shared options describe; bad values are an InvalidInput (exit 2) naming them.
    ``now`` defaults to the current time: the verifier refuses a session dated in the future only when given one."""
    if now is None:
        now = int(time.time())
    try:
        return tlsn.Policy(
            notary_keys=trust.keys,
            server_name=server,
            now=now,
            max_age=max_age,
            roots=tuple(read_bounded(p, TEXT_BYTES, "--root certificate") for p in root),
            mozilla_roots=not no_mozilla_roots,
            require_identity=require_identity,
            require_transcript=require_transcript,
        )
    except ValidationError as exc:
        raise errors.InvalidInput(validation_problem(exc)) from None


@app.command()
def verify(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=PRESENTATION_HELP),
    notary_key: list[str] = NOTARY_KEY_OPT,
    notaries: Path = NOTARIES_OPT,
    server: str = SERVER_OPT,
    now: int = NOW_OPT,
    max_age: int = MAX_AGE_OPT,
    root: list[Path] = ROOT_OPT,
    no_mozilla_roots: bool = NO_MOZILLA_ROOTS_OPT,
    allow_missing_identity: bool = typer.Option(
        False, "--allow-missing-identity", help="Accept a presentation without a server identity proof."
    ),
    allow_missing_transcript: bool = typer.Option(
        False, "--allow-missing-transcript", help="Accept a presentation without a transcript proof."
    ),
    backend: str = typer.Option("native", "--backend", help="native, or wasm (the verifier in Loom's sandbox)."),
    json_out: bool = JSON_OPT,
) -> None:
    """Verify a presentation against a policy and print what it proves. Exit 1 when it does not verify."""
    if backend not in ("native", "wasm"):
        raise errors.InvalidInput(f"--backend must be native or wasm, not {backend!r}")
    trust = notary_trust(notary_key, notaries)
    policy = make_policy(
        trust,
        server,
        now,
        max_age,
        root,
        no_mozilla_roots,
        require_identity=not allow_missing_identity,
        require_transcript=not allow_missing_transcript,
    )
    loaded = load_presentation(file)
    verified = tlsn.verify_presentation(loaded.data, policy, backend)  # type: ignore[arg-type]
    signer = trust.signer(verified.notary.algorithm, verified.notary.key, verified.time)
    if json_out:
        emit(
            {
                **verified.model_dump(mode="json", by_alias=True),
                "encoding": loaded.encoding,
                "notary_name": signer.name,
            },
            True,
        )
        return
    show(verified, loaded, signer)


def show(v: tlsn.VerifiedPresentation, loaded: tlsn.LoadedPresentation, signer: tlsn.TrustedNotary) -> None:
    """A readable summary: who, when, with whom, and what was revealed (redactions marked)."""
    facts = Table(title="Presentation verified", show_header=False, title_justify="left")
    facts.add_column(style="bold cyan")
    facts.add_column(overflow="fold")
    facts.add_row("encoding", encoding_text(loaded))
    facts.add_row(
        "server",
        safe(f"{v.server.name} (certificate chain and {v.server.signature} key exchange verified)")
        if v.server
        else Text("not proven (no identity proof)", style="yellow"),
    )
    facts.add_row("session time", f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(v.time))} ({v.time})")
    facts.add_row("notary", safe(f"{v.notary.algorithm} {v.notary.key}"))
    if signer.name is not None:
        facts.add_row("notary name", safe(signer.name))
    facts.add_row("attestation", safe(f"{v.attestation.id} ({v.attestation.hash})"))
    facts.add_row("TLS", safe(v.tls_version))
    if v.transcript:
        for name, d in (("sent", v.transcript.sent), ("received", v.transcript.received)):
            redacted = sum(e - s for s, e in d.redacted)
            facts.add_row(name, f"{d.length} bytes, {d.length - redacted} revealed, {redacted} redacted")
    console.print(facts)
    if v.transcript:
        for name, d in (("sent", v.transcript.sent), ("received", v.transcript.received)):
            console.print(Panel(_transcript_text(d), title=name, title_align="left", expand=False))
    if v.http and v.http.response and v.http.response.error is None:
        r = v.http.response
        console.print(
            Text.assemble(
                "HTTP response: ",
                (plain(f"{r.status} {r.reason}"), "bold"),
                f", {len(r.headers)} headers, {len(r.body or '')} body characters",
            )
        )


def encoding_text(loaded: tlsn.LoadedPresentation) -> Text:
    """How the file held the presentation, and the URLs a tlsn-js file notes: unsigned, so shown as inert text."""
    meta = loaded.meta or tlsn.TlsnJsMeta()
    urls = [
        f"{label} {url}" for label, url in (("notary", meta.notary_url), ("proxy", meta.websocket_proxy_url)) if url
    ]
    return Text.assemble(loaded.encoding, (plain(f" ({', '.join(urls)}; unsigned)"), "dim") if urls else "")


def _transcript_text(d: tlsn.Direction) -> Text:
    """The revealed bytes in place (as inert text: they are the server's and the prover's), each redacted range
    shown as a marker with its length."""
    out = Text()
    pieces = sorted(
        [(c.start, c.end, c) for c in d.revealed] + [(s, e, None) for s, e in d.redacted], key=lambda p: p[0]
    )
    for start, end, chunk in pieces:
        if chunk is None:
            out.append(f"[{end - start} bytes redacted]", style="reverse yellow")
        else:
            out.append_text(safe_lines(chunk.text) if chunk.text is not None else safe(f"<hex {chunk.hex}>"))
    return out if pieces else Text("(empty)")
