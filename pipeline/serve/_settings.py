"""What one server serves, decided by ``loom serve``'s options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.serve._keys import ApiKeys

DEFAULT_MAX_BODY = 16 << 20
"""Bytes of one request body: a presentation or a succinct receipt as base64 is far smaller."""


@dataclass(frozen=True)
class Settings:
    """Its keys, its body cap, the folder of pipelines it may run and how many runs at once, and the Ray cluster
    its proving sessions are proven on (``None``: here)."""

    keys: ApiKeys
    max_body: int = DEFAULT_MAX_BODY
    pipelines: Path | None = None
    run_threads: int = 1
    cluster: str | None = None
