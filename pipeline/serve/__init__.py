"""``loom serve``: Loom over HTTP on loopback, behind API keys. Verification of presentations, receipts and bundles
and runs of served pipelines under ``/v1`` (the same checks, errors and data dir as the CLI); RISC Zero's Bonsai
proving API under ``/bonsai``; the run viewer at ``/``.

The app needs the ``serve`` extra (FastAPI on uvicorn): ``create_app`` and ``status_of`` load it on first use, so the
keys and the settings work without it."""

from typing import TYPE_CHECKING, Any

from pipeline.serve._keys import ApiKeys, StoredKey, default_keys_file
from pipeline.serve._server import ExposedWithoutTls, is_loopback, serve
from pipeline.serve._settings import DEFAULT_MAX_BODY, Settings

if TYPE_CHECKING:
    from pipeline.serve._app import create_app, status_of

__all__ = [
    "DEFAULT_MAX_BODY",
    "ApiKeys",
    "ExposedWithoutTls",
    "Settings",
    "StoredKey",
    "create_app",
    "default_keys_file",
    "is_loopback",
    "serve",
    "status_of",
]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "status_of"):
        from pipeline.serve import _app

        return getattr(_app, name)
    raise AttributeError(f"module 'pipeline.serve' has no attribute {name!r}")
