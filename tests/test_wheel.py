"""The wheel works anywhere: installed in a fresh virtualenv in a temporary folder outside the checkout, Loom
verifies a presentation, executes and proves a guest, verifies the receipt, runs an example pipeline on a fresh data
dir (no registration step) and a quick benchmark suite, all from the files the wheel carries."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

NOTARY_KEY = "035be5e9478209674a96e60f1f037f6176540fd001fa1d64694770c56a7709c42c"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = sorted((REPO / "dist").glob("loom_verifiable-*.whl"))
    if not wheels:
        pytest.fail(f"no wheel in {REPO / 'dist'}: run `make wheel`")
    root = tmp_path_factory.mktemp("wheel-venv")
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    subprocess.run(
        [
            str(root / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"{wheels[-1]}[bench]",
        ],
        check=True,
    )
    return root


@pytest.fixture
def loom(venv: Path, tmp_path: Path):
    """Runs the installed `loom` from a folder outside the checkout, with nothing of the checkout on its paths."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}:/usr/bin:/bin", LOOM_HOME=str(tmp_path / "home"), COLUMNS="200")

    def run(*args: str, code: int = 0, **extra_env: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(venv / "bin" / "loom"), *args],
            cwd=tmp_path,
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == code, f"loom {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
        return proc

    return run


def test_the_wheel_carries_everything_it_runs(loom, venv: Path) -> None:
    info = json.loads(loom("info", "--json").stdout)
    data = Path(info["data_dir"])
    assert data.is_relative_to(venv) and not data.is_relative_to(REPO)
    assert not [p for p in data.rglob("*") if p.is_symlink()]  # copies, not links into the checkout
    lock = json.loads((REPO / "rust-guests" / "zkvm" / "image-ids.json").read_text())
    assert json.loads(loom("zk", "image-id", "--all", "--json").stdout) == lock
    assert json.loads((data / "zkvm" / "image-ids.json").read_text()) == lock
    assert info["native.target_cpu"] == "x86-64"  # portable whatever CPU the checkout's own module was built for


def test_verify_a_presentation(loom, fixtures: Path) -> None:
    out = json.loads(
        loom("tlsn", "verify", str(fixtures / "tlsn" / "presentation.bin"), "--notary-key", NOTARY_KEY, "--json").stdout
    )
    assert out["server"]["name"] == "tlsnotary.org"


def test_execute_prove_and_verify_a_guest(loom, tmp_path: Path) -> None:
    document = '{"words": [1, 2, 3]}'
    executed = json.loads(loom("zk", "execute", "hello", "-i", document, "--json").stdout)
    assert executed["journal"] == {"count": 3, "sum": 6}
    receipt = tmp_path / "hello.receipt"
    proved = loom("zk", "prove", "hello", "-i", document, "--out", str(receipt))
    assert "in 1 segment of 2^17 cycles, 131,072 rows (the cheapest size that fits the memory)" in proved.stderr
    verified = json.loads(loom("zk", "verify", str(receipt), "--guest", "hello", "--json").stdout)
    assert verified["verified"] is True and verified["journal"] == {"count": 3, "sum": 6}


def test_run_an_example_on_a_fresh_data_dir(loom, tmp_path: Path, fixtures: Path) -> None:
    presentation = (fixtures / "tlsn" / "presentation.bin").read_bytes()
    (tmp_path / "input.json").write_text(
        json.dumps(
            {
                "presentation": base64.b64encode(presentation).decode(),
                "notary_key": NOTARY_KEY,
                "server": "tlsnotary.org",
                "paths": ["bazz"],
            }
        )
    )
    result = json.loads(
        loom("run", str(REPO / "examples" / "notarized-fields.yaml"), "--input", "@input.json", "--json").stdout
    )
    assert result["status"] == "succeeded" and result["output"]["server"] == "tlsnotary.org"
    assert result["output"]["fields"] == {"bazz": 123}
    # the quick start proves nothing: every value it outputs is the host's word
    assert {tuple(p["path"]): p["source"] for p in result["provenance"]} == {
        ("fields",): "host",
        ("status",): "host",
        ("server",): "host",
        ("session_time",): "host",
    }


def test_the_flagship_bundle_verifies_on_a_machine_with_only_the_wheel(loom, tmp_path: Path, flagship_bundle: Path):
    """The recipient's side: the wheel in a fresh virtualenv, a fresh LOOM_HOME, and the bundle `make demo` writes."""
    every = ["server", "notary_key", "session_time", "claim", "holds", "value", "response_sha256"]
    required = [arg for path in every for arg in ("--require-proven", path)]
    verified = loom("verify", str(flagship_bundle), *required)
    assert "bundle verified: 7 of 7 values proven" in verified.stdout, verified.stdout
    assert not (tmp_path / "home" / "journal.sqlite").exists()  # nothing written to the data dir
    tampered = json.loads(flagship_bundle.read_text())
    tampered["output"]["value"] = 124
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    refused = loom("verify", str(tmp_path / "tampered.json"), code=1)
    assert refused.stderr.strip().splitlines() == [
        "error: BundleRefused: value is 124 in the bundle, but the receipt of step prove (tlsn-claim) proves 123"
    ]


def test_a_quick_benchmark_suite(loom, tmp_path: Path) -> None:
    loom("bench", "--suite", "tlsn", "--quick", "--out", str(tmp_path / "bench"))
    report = json.loads((tmp_path / "bench" / "report.json").read_text())
    assert {m["name"] for m in report["measurements"]} == {"test_tlsn_verify_native", "test_tlsn_verify_wasm"}


def test_without_the_cluster_extra_a_cluster_fails_at_once_with_the_install_hint(loom, venv: Path) -> None:
    assert not list(venv.glob("lib/python*/site-packages/ray"))  # the wheel's [bench] extra brings no Ray
    hint = "Ray is not installed: pip install 'loom-verifiable[cluster]'"
    for args, env in [
        (("zk", "prove", "hello", "-i", '{"words": [1]}', "--cluster", "auto"), {}),
        (("zk", "prove", "hello", "-i", '{"words": [1]}'), {"LOOM_CLUSTER": "auto"}),
        (("run", str(REPO / "examples" / "notarized-fields.yaml"), "--cluster", "127.0.0.1:6379"), {}),
    ]:
        refused = loom(*args, code=5, **env)
        assert hint in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr


def test_without_the_serve_extra_keys_work_and_serving_says_what_to_install(loom, venv: Path) -> None:
    assert not list(venv.glob("lib/python*/site-packages/fastapi"))  # the [bench] extra brings no server
    key = loom("serve", "keys", "add", "wheel").stdout.strip()
    assert key.startswith("loom_")
    refused = loom("serve", "--port", "0", code=2)
    assert refused.stderr.strip().splitlines() == [
        "error: InvalidInput: loom serve needs the serve extra: pip install 'loom-verifiable[serve]'"
    ]
