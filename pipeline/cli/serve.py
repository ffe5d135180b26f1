"""``loom serve``: the HTTP API over this data dir, and its API keys."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from pipeline import serve as service
from pipeline.cli.output import CLUSTER_OPT, JSON_OPT, console, emit, err_console, safe

app = typer.Typer(
    help="Serve Loom over HTTP on 127.0.0.1, behind API keys: verification and runs under /v1, RISC Zero's Bonsai "
    "proving API under /bonsai. Needs the serve extra.",
    invoke_without_command=True,
)
keys_app = typer.Typer(help="API keys: each is shown once; only its SHA-256 is kept.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.callback()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="The address to listen on (not loopback: warns without TLS)."),
    port: int = typer.Option(8787, "--port", min=0, max=65535, help="The port to listen on."),
    max_body_mib: float = typer.Option(
        service.DEFAULT_MAX_BODY / (1 << 20), "--max-body-mib", min=0.001, max=1024, help="The largest request body."
    ),
    pipelines: Path = typer.Option(
        None, "--pipelines", file_okay=False, exists=True, help="A folder of pipeline YAML files POST /v1/runs may run."
    ),
    run_threads: int = typer.Option(1, "--run-threads", min=1, max=16, help="Runs at once (more are refused: 503)."),
    cluster: str = CLUSTER_OPT,
    tls_cert: Path = typer.Option(
        None, "--tls-cert", exists=True, dir_okay=False, help="Serve HTTPS: certificate (PEM)."
    ),
    tls_key: Path = typer.Option(
        None, "--tls-key", exists=True, dir_okay=False, help="Serve HTTPS: private key (PEM)."
    ),
) -> None:
    """Serve the API until interrupted. Every route but /health needs an API key (`loom serve keys add NAME`); the
    OpenAPI document is at /openapi.json."""
    if ctx.invoked_subcommand is not None:
        return
    keys = service.ApiKeys()
    if not any(k.revoked_at is None for k in keys.stored()):
        err_console.print(
            Text("warning: no live API key: every request will be refused (loom serve keys add NAME)", style="yellow")
        )
    settings = service.Settings(
        keys=keys,
        max_body=int(max_body_mib * (1 << 20)),
        pipelines=pipelines,
        run_threads=run_threads,
        cluster=cluster,
    )
    service.serve(settings, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key)


@keys_app.command("add")
def add(
    name: str = typer.Argument(..., help="A name for the key (who or what uses it)."), json_out: bool = JSON_OPT
) -> None:
    """Make a key and print it, once: only its SHA-256 is stored."""
    key = service.ApiKeys().add(name)
    if json_out:
        emit({"name": name, "key": key}, True)
        return
    console.print(Text(key))
    err_console.print(safe(f"key {name!r} made: it is not shown again (send it as the x-api-key header)", "green"))


@keys_app.command("list")
def list_(json_out: bool = JSON_OPT) -> None:
    """List the keys by name (never the keys themselves)."""
    keys = service.ApiKeys().stored()
    if json_out:
        emit([k.model_dump(exclude={"sha256"}) for k in keys], True)
        return
    table = Table("name", "created", "status")
    for k in keys:
        made = datetime.fromtimestamp(k.created_at).strftime("%Y-%m-%d %H:%M:%S")
        status = Text("live", "green") if k.revoked_at is None else Text("revoked", "red")
        table.add_row(safe(k.name), made, status)
    console.print(table)


@keys_app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The key's name."), json_out: bool = JSON_OPT) -> None:
    """Revoke a key: a running server refuses it from its next request."""
    service.ApiKeys().revoke(name)
    if json_out:
        emit({"name": name, "revoked": True}, True)
    else:
        console.print(safe(f"key {name!r} revoked", "green"))
