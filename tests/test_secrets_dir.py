"""Secrets as files in a directory (``--secrets-dir`` or ``LOOM_SECRETS_DIR``), for the CLI, the runner and its
workers: a file only its owner can read is a secret; one that others can read is refused, not used."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest

from pipeline import errors
from pipeline.activities import register_builtins
from pipeline.core import FileSecrets, default_secrets
from pipeline.store import default_blobstore, default_registry
from tests.support import loom

DOC = json.dumps({"order": 42, "items": ["a", "b"]})


def signed(key: str, document: str = DOC) -> str:
    return hmac.new(key.encode(), document.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def registered(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOOM_SECRET_hmac_key", raising=False)
    monkeypatch.delenv("LOOM_SECRETS_DIR", raising=False)
    register_builtins(default_blobstore(), default_registry())


def secrets_dir(tmp_path: Path, mode: int, value: str = "s3cret\n") -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o700)
    (folder / "hmac_key").write_text(value)
    (folder / "hmac_key").chmod(mode)
    return folder


def test_activity_run_reads_an_owner_only_secret_file(registered: None, tmp_path: Path) -> None:
    folder = secrets_dir(tmp_path, 0o600)
    by_option = loom("activity", "run", "hmac", "--input", DOC, "--secrets-dir", str(folder))
    by_environment = loom("activity", "run", "hmac", "--input", DOC, env={"LOOM_SECRETS_DIR": str(folder)})
    for ran in (by_option, by_environment):
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout)["hmac"] == signed("s3cret")


def test_a_secret_file_others_can_read_is_refused(registered: None, tmp_path: Path) -> None:
    folder = secrets_dir(tmp_path, 0o644)
    refused = loom("activity", "run", "hmac", "--input", DOC, "--secrets-dir", str(folder))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "InvalidInput" in refused.stderr and "hmac_key" in refused.stderr and "0644" in refused.stderr


def test_environment_variables_come_first(registered: None, tmp_path: Path) -> None:
    folder = secrets_dir(tmp_path, 0o600)
    ran = loom(
        "activity",
        "run",
        "hmac",
        "--input",
        DOC,
        "--secrets-dir",
        str(folder),
        env={"LOOM_SECRET_hmac_key": "from-env"},
    )
    assert ran.returncode == 0 and json.loads(ran.stdout)["hmac"] == signed("from-env"), ran.stderr


def test_a_pipeline_runs_its_workers_with_the_secrets_dir(registered: None, tmp_path: Path) -> None:
    pipeline = tmp_path / "sign.yaml"
    pipeline.write_text("name: sign\nsteps:\n  sign: {activity: hmac, input: '${input}'}\n")
    folder = secrets_dir(tmp_path, 0o600)
    ran = loom("run", str(pipeline), "--input", DOC, "--secrets-dir", str(folder), "--json")
    assert ran.returncode == 0, ran.stderr
    document = json.dumps(json.loads(DOC), ensure_ascii=False)
    assert json.loads(ran.stdout)["output"]["sign"]["hmac"] == signed("s3cret", document)


def test_what_is_not_a_regular_owner_only_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    (folder / "a_dir").mkdir(parents=True)
    os.mkfifo(folder / "fifo", 0o600)
    for name in ("a_dir", "fifo"):
        with pytest.raises(errors.InvalidInput, match="not a regular file"):
            FileSecrets(folder).get(name)
    assert FileSecrets(folder).get("missing") is None


def test_loom_secrets_dir_must_be_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_SECRETS_DIR", str(tmp_path / "missing"))
    with pytest.raises(errors.InvalidInput, match="LOOM_SECRETS_DIR"):
        default_secrets()
