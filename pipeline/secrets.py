"""Where secrets come from. Activities never see a provider: the host reads a secret for them only when the
activity's definition lists its name (``capabilities.secrets``); everything else is ``CapabilityDenied``."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"invalid secret name {name!r}")
    return name


class SecretProvider(Protocol):
    def get(self, name: str) -> str | None:
        """The secret's value, or None when this provider does not have it."""


class EnvSecrets:
    """Secrets from environment variables named ``<prefix><name>`` (default ``LOOM_SECRET_``)."""

    def __init__(self, prefix: str = "LOOM_SECRET_") -> None:
        self.prefix = prefix

    def get(self, name: str) -> str | None:
        return os.environ.get(self.prefix + _checked(name))


class FileSecrets:
    """Secrets as files in a directory (one file per secret, as mounted by Docker or Kubernetes)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def get(self, name: str) -> str | None:
        path = self.directory / _checked(name)
        return path.read_text().rstrip("\n") if path.is_file() else None


class ChainedSecrets:
    """The first provider that has the secret wins."""

    def __init__(self, *providers: SecretProvider) -> None:
        self.providers = providers

    def get(self, name: str) -> str | None:
        return next((v for p in self.providers if (v := p.get(name)) is not None), None)
