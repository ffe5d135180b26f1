"""``loom activity``: register, list and run versioned activities."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from pipeline import activities, errors, zk
from pipeline.activities import register_builtins, register_module, resolve
from pipeline.cli import zk as zk_cli
from pipeline.cli.output import (
    JSON_OPT,
    SECRETS_DIR_OPT,
    TERMINAL_BOUND,
    check_out_path,
    console,
    emit,
    err_console,
    plain,
    print_json,
    read_input,
    safe,
    write_json,
)
from pipeline.core import (
    ActivityDefinition,
    Capabilities,
    HttpGrant,
    Limits,
    ProveOptions,
    ReceiptKind,
    Runtime,
    read_bounded,
    use_secrets_dir,
)
from pipeline.store import default_blobstore, default_registry

PEM_BYTES = 1 << 20  # a root certificate file named by --http-root; a PEM certificate is a few KiB

app = typer.Typer(
    help="Register, list and run activities (wasm, AssemblyScript, RISC Zero guests).", no_args_is_help=True
)


@app.command()
def register(
    file: Path = typer.Argument(..., help="The module: .wasm, or a RISC Zero guest ELF for --runtime risc0."),
    name: str = typer.Option(..., "--name", help="Activity name (lowercase, digits, - and _)."),
    version: str = typer.Option(..., "--version", help="Semver version, e.g. 1.0.0; versions are immutable."),
    runtime: Runtime = typer.Option(..., "--runtime", help="assemblyscript, wasm, extism or risc0."),
    fuel: int = typer.Option(Limits().fuel, help="Fuel per call (wasm instructions, roughly)."),
    wall_clock_ms: int = typer.Option(Limits().wall_clock_ms, help="Deadline per call in milliseconds."),
    memory_mib: int = typer.Option(
        Limits().memory_mib, help="Everything a call may hold in MiB: its memory, tables and actor state together."
    ),
    output_mib: int = typer.Option(Limits().output_mib, help="Largest output per call in MiB."),
    grant: list[str] = typer.Option(
        [], "--grant", help="Host function to grant (loom_log, loom_get_secret, loom_state, loom_http)."
    ),
    secret: list[str] = typer.Option(
        [], "--secret", help="Secret name the activity may use (read with loom_get_secret, or sent in an HTTP header)."
    ),
    allow_host: list[str] = typer.Option(
        [], "--allow-host", help="loom_http: a host it may reach (api.example.com, *.example.com, HOST:PORT)."
    ),
    allow_method: list[str] = typer.Option([], "--allow-method", help="loom_http: an HTTP method (default GET)."),
    allow_plain_http: bool = typer.Option(False, "--allow-plain-http", help="loom_http: allow http:// URLs."),
    http_resolve: list[str] = typer.Option(
        [], "--http-resolve", help="loom_http: HOST=ADDRESS, reach HOST at ADDRESS (which the grant then names)."
    ),
    http_root: list[Path] = typer.Option(
        [], "--http-root", help="loom_http: a PEM certificate to trust as a root, beside the system's."
    ),
    json_out: bool = JSON_OPT,
) -> None:
    """Check a module against its runtime's ABI, store it, and register it as NAME@VERSION."""
    http = None
    if allow_host or "loom_http" in grant:
        http = HttpGrant(
            hosts=tuple(allow_host),
            methods=tuple(m.upper() for m in allow_method) or ("GET",),
            plain_http=allow_plain_http,
            resolve=tuple(http_resolve),
            extra_roots=tuple(
                read_bounded(path, PEM_BYTES, f"--http-root {path}").decode("utf-8", "replace") for path in http_root
            ),
        )
        grant = grant if "loom_http" in grant else [*grant, "loom_http"]
    defn = register_module(
        activities.read_module(file),
        name=name,
        version=version,
        runtime=runtime,
        limits=Limits(fuel=fuel, wall_clock_ms=wall_clock_ms, memory_mib=memory_mib, output_mib=output_mib),
        capabilities=Capabilities(host_functions=tuple(grant), secrets=tuple(secret), http=http),
    )
    emit(defn.model_dump(mode="json"), json_out, title=f"Registered {defn.ref}")


@app.command()
def builtins(json_out: bool = JSON_OPT) -> None:
    """Register the activities Loom ships at Loom's version (`loom run` also registers them on first use)."""
    defs = register_builtins(default_blobstore(), default_registry())
    _print_definitions(defs, json_out)


@app.command("list")
def list_(json_out: bool = JSON_OPT) -> None:
    """List registered activities, every version."""
    _print_definitions(default_registry().list(), json_out)


@app.command()
def run(
    ref: str = typer.Argument(..., help="NAME or NAME@VERSION (latest version when omitted)."),
    input: str = typer.Option(..., "--input", "-i", help="Input document: JSON text, @file, or @- (stdin)."),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Write the whole output (JSON) to this file instead of "
        f"printing it (a terminal is shown at most {TERMINAL_BOUND // 1024} KiB).",
    ),
    secrets_dir: Path = SECRETS_DIR_OPT,
    prove: bool = typer.Option(
        False,
        "--prove",
        help="Run a wasm or AssemblyScript activity in the zkVM (the wasm-exec guest) and keep a receipt: the output "
        "is its journal (the module's and the input's SHA-256, and the output) with the receipt's digest.",
    ),
    kind: ReceiptKind = typer.Option(ReceiptKind.composite, "--kind", help="With --prove: composite or succinct."),
    segment_po2: int = zk_cli.SEGMENT_PO2_OPT,
) -> None:
    """Run an activity once and print its JSON output (log lines go to stderr)."""
    check_out_path(out)
    if not prove and (kind is not ReceiptKind.composite or segment_po2 is not None):
        raise errors.InvalidInput("--kind and --segment-po2 are for --prove")
    use_secrets_dir(secrets_dir)
    blobs = default_blobstore()
    defn = resolve(default_registry(), blobs, ref)
    document = read_input(input)
    if prove:
        call = activities.prepare_proven_wasm(defn, document, blobs)  # a failure is one line, before any progress
        with zk_cli.proving_bar(f"{defn.ref} in {zk.WASM_GUEST}", False, False) as report:
            output = activities.prove_wasm_call(
                call,
                blobs,
                options=ProveOptions(kind=kind, segment_po2=segment_po2),
                progress=report.progress,
                on_plan=report.plan,
            )
    else:
        output = activities.Executors(blobs).run(defn, document, log=_log_line)
    if out is None:
        print_json(output, hint="use --out FILE, or pipe the output, to get all of it")
    else:
        err_console.print(safe(f"wrote {write_json(output, out):,} bytes of output to {out}"), soft_wrap=True)


def _log_line(level: str, message: str) -> None:
    """One log line of the activity on stderr: its words as inert text (they are the guest's)."""
    err_console.print(Text.assemble((plain(level), "dim"), " ", plain(message)), soft_wrap=True)


def _print_definitions(defs: list[ActivityDefinition], json_out: bool) -> None:
    if json_out:
        emit([d.model_dump(mode="json") for d in defs], True)
        return
    table = Table("name", "version", "runtime", "blob", "limits", "grants")
    for d in defs:
        http = d.capabilities.http
        hosts = [f"http:{h}" for h in http.hosts] if http else []
        grants = ", ".join([*d.capabilities.host_functions, *(f"secret:{s}" for s in d.capabilities.secrets), *hosts])
        table.add_row(
            safe(d.name),
            safe(d.version),
            safe(d.runtime.value),
            safe(d.blob[:12]),
            f"{d.limits.fuel:.0e} fuel, {d.limits.wall_clock_ms} ms, {d.limits.memory_mib} MiB, "
            f"output {d.limits.output_mib} MiB",
            safe(grants or "-"),
        )
    console.print(table)
