"""Where secrets come from. Activities never see a provider: the host reads a secret for them only when the
activity's definition lists its name (``capabilities.secrets``); everything else is ``CapabilityDenied``.

:func:`default_secrets` is the provider every part of Loom uses when given none: environment variables, then files
in ``$LOOM_SECRETS_DIR``. Worker processes inherit the environment, so they read the same secrets as the runner.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Protocol

from pipeline import errors
from pipeline.core._files import TEXT_BYTES

SECRETS_DIR_ENV = "LOOM_SECRETS_DIR"
SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
"""What a secret may be called, wherever a name is given (a grant, a lookup, a file in a secrets dir): letters,
digits, '_', '.' or '-', at most 128, not starting with a digit, '.' or '-' (so never '..', never an option)."""


def _checked(name: str) -> str:
    if not SECRET_NAME.fullmatch(name):
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
    """Secrets as files in a directory (one file per secret, as mounted by Docker or Kubernetes, whose links are
    followed). A file that is not regular, or that its group or others may read or write, is refused
    (``InvalidInput``): a secret others can read is not one, and one they can write is not the owner's."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def get(self, name: str) -> str | None:
        path = self.directory / _checked(name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # non-blocking: a FIFO must not hang the host
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise errors.InvalidInput(f"cannot read secret file {path}: {exc.strerror}") from None
        try:
            _check_private(path, os.fstat(fd))  # the file opened, not a name that may since point elsewhere
            with open(fd, "rb", closefd=False) as fh:
                data = fh.read(TEXT_BYTES + 1)
        finally:
            os.close(fd)
        if len(data) > TEXT_BYTES:
            raise errors.InvalidInput(f"secret file {path} has over {TEXT_BYTES:,} bytes: not a secret")
        try:
            return data.decode().rstrip("\n")
        except UnicodeDecodeError:
            raise errors.InvalidInput(f"secret file {path} is not UTF-8 text") from None


def _check_private(path: Path, st: os.stat_result) -> None:
    """Refuses what is not the owner's alone: another user could read the secret, or swap in their own."""
    if not stat.S_ISREG(st.st_mode):
        raise errors.InvalidInput(f"secret file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise errors.InvalidInput(
            f"secret file {path} is open to its group or others (mode "
            f"{stat.S_IMODE(st.st_mode):04o}): make it readable by its owner only (chmod 600)"
        )


class ChainedSecrets:
    """The first provider that has the secret wins."""

    def __init__(self, *providers: SecretProvider) -> None:
        self.providers = providers

    def get(self, name: str) -> str | None:
        return next((v for p in self.providers if (v := p.get(name)) is not None), None)


def default_secrets() -> SecretProvider:
    """Environment variables, then the files in ``$LOOM_SECRETS_DIR`` when it is set."""
    directory = os.environ.get(SECRETS_DIR_ENV)
    if not directory:
        return EnvSecrets()
    if not Path(directory).is_dir():
        raise errors.InvalidInput(f"{SECRETS_DIR_ENV} {directory} is not a directory")
    return ChainedSecrets(EnvSecrets(), FileSecrets(Path(directory)))


def use_secrets_dir(directory: Path | None) -> SecretProvider:
    """The provider for a command given ``--secrets-dir``: the directory becomes ``$LOOM_SECRETS_DIR`` for this
    process and the workers it starts, so that every reader of secrets agrees."""
    if directory is not None:
        os.environ[SECRETS_DIR_ENV] = str(Path(directory).resolve())
    return default_secrets()
