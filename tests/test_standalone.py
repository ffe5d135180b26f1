"""The project stands alone: a clone of this repository, and nothing beside it, is all it needs. No file of the
project names a folder outside the checkout (a sibling `shared/`, say)."""

from __future__ import annotations

import re
import subprocess

from tests.support import FIXTURES, REPO

OUTSIDE = re.compile(r"(\.\./)+shared\b|\bshared/")


def test_no_file_names_a_folder_beside_the_checkout() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    naming = []
    for name in filter(None, tracked):
        path = REPO / name.decode()
        if path == REPO / "tests" / "test_standalone.py" or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        for number, line in enumerate(data.decode(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                naming.append(f"{name.decode()}:{number}: {line.strip()[:100]}")
    assert not naming, "files that name a folder outside the checkout:\n" + "\n".join(naming)


def test_the_upstream_data_is_in_the_repository_with_its_notice() -> None:
    notice = (FIXTURES / "NOTICE.md").read_text()
    for folder in ("handshakes", "http", "server-data", "test-server-pki"):
        assert (FIXTURES / "tlsn" / folder).is_dir() and f"tlsn/{folder}/" in notice
    assert (FIXTURES / "tlsn" / "presentation.bin").is_file() and "MIT" in notice and "Apache" in notice
