"""Where Loom keeps things: one data dir for everything it persists, and the cache of costly build outputs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pipeline import errors


def loom_home() -> Path:
    """The data dir (registry, journal, blob store, module cache): ``$LOOM_HOME`` or ``~/.local/share/loom``.

    One folder so that tests and scripts can point ``LOOM_HOME`` at a temp dir and own all state.
    """
    env = os.environ.get("LOOM_HOME")
    base = Path(env) if env else Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "loom"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        _make_private(base)
    except OSError as exc:
        raise errors.StoreFailed(f"the data dir {base} cannot be used: {exc.strerror}") from None
    return base


def _make_private(base: Path) -> None:
    """The data dir holds every run's inputs and outputs (some derived from secrets): its owner's alone, whatever
    the umask. One others can write is refused (anything in it may have been planted); one others can only read,
    as an older Loom left it, is closed."""
    info = os.stat(base)
    if not stat.S_ISDIR(info.st_mode):
        raise errors.StoreFailed(f"the data dir {base} is not a directory")
    if info.st_uid != os.getuid():
        raise errors.StoreFailed(f"the data dir {base} belongs to uid {info.st_uid}, not to this user: not trusted")
    if info.st_mode & 0o022:
        raise errors.StoreFailed(
            f"the data dir {base} can be written by others (mode {stat.S_IMODE(info.st_mode):o}): not trusted; "
            f"check what is in it, then chmod 700 {base}"
        )
    if info.st_mode & 0o077:
        os.chmod(base, 0o700)


def cache_dir() -> Path:
    """Costly build outputs shared by every clone (cargo targets, pip and npm caches): ``$LOOM_CACHE`` or
    ``~/.cache/loom``, as the Makefile sets them."""
    env = os.environ.get("LOOM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "loom"


def risc0_host_binary(cpu: str | None = None) -> Path:
    """risc0's own Rust host API as a command (benches/risc0-host, built by ``make setup``): the reference for the
    proving benchmark and the other side of the receipt interop tests. Built for ``cpu`` (the Makefile's CPU), by
    default the one this module was built for, so both sides of a comparison run the same kernels."""
    from pipeline import _native  # the compiled module only when asked: `home` is imported by everything

    cpu = cpu or _native.build_info()["target_cpu"]
    target = "native" if cpu == "x86-64" else f"native-cpu-{cpu}"
    return cache_dir() / "target" / target / "release" / "risc0-host-bench"
