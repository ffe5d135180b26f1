"""Bad command-line input is refused up front, before any work (a proof can take an hour), with one line on stderr
and exit 2; inputs that used to pass unnoticed (a receipt with trailing bytes, a session dated in the future) are
refused."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from pipeline import errors, zk
from pipeline.core import MAX_SEGMENT_PO2, MIN_SEGMENT_PO2
from tests.support import GOLDEN_NOTARY_KEY, loom, notary

HELLO = json.dumps({"words": [7, 35]})
# The native decoder refuses bytes after a receipt (bincode alone would ignore them), saying how many.
TRAILING = r"\d+ trailing bytes? after it"
FUTURE = 4_000_000_000  # 2096: inside the test PKI's validity, after any machine's clock


def assert_one_line_usage_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr


@pytest.fixture
def presentation(fixtures: Path) -> str:
    return str(fixtures / "tlsn" / "presentation.bin")


# --- --segment-po2 ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("po2", ["99", str(MIN_SEGMENT_PO2 - 1), str(MAX_SEGMENT_PO2 + 1), "-1"])
@pytest.mark.parametrize("command", ["execute", "prove", "tlsn-claim"])
def test_segment_po2_outside_risc0s_range_is_a_usage_error(
    built: Path, presentation: str, command: str, po2: str
) -> None:
    if command == "tlsn-claim":
        args = ["tlsn-claim", presentation, "--notary-key", GOLDEN_NOTARY_KEY, "--claim", "bazz eq 123", "--dev-mode"]
    else:
        args = [command, "hello", "--input", HELLO, *(["--dev-mode"] if command == "prove" else [])]
    refused = loom("zk", *args, "--segment-po2", po2)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--segment-po2" in refused.stderr and "DEV MODE" not in refused.stderr  # refused before proving


@pytest.mark.parametrize("po2", [MIN_SEGMENT_PO2, MAX_SEGMENT_PO2])
def test_segment_po2_bounds_are_accepted_by_risc0(built: Path, po2: int) -> None:
    hello = zk.load_guest("hello")
    assert json.loads(zk.execute(hello.elf, HELLO, segment_limit_po2=po2).journal) == {"count": 2, "sum": 42}
    ran = loom("zk", "execute", "hello", "--input", HELLO, "--segment-po2", str(po2), "--json")
    assert ran.returncode == 0, ran.stderr


# --- --out ------------------------------------------------------------------------------------------------------


def _bad_outs(tmp_path: Path) -> list[tuple[str, str]]:
    return [(str(tmp_path), "is a directory"), (str(tmp_path / "missing" / "r.bin"), "does not exist")]


def test_prove_checks_out_before_proving(built: Path, tmp_path: Path) -> None:
    for out, why in _bad_outs(tmp_path):
        started = time.monotonic()
        refused = loom("zk", "prove", "hello", "--input", HELLO, "--out", out)  # a real proof: if it ran, it'd show
        assert_one_line_usage_error(refused, "InvalidInput", why)
        assert time.monotonic() - started < 30


def test_tlsn_claim_checks_out_before_proving(built: Path, presentation: str, tmp_path: Path) -> None:
    for out, why in _bad_outs(tmp_path):
        refused = loom(
            "zk",
            "tlsn-claim",
            presentation,
            "--notary-key",
            GOLDEN_NOTARY_KEY,
            "--claim",
            "bazz eq 123",
            "--dev-mode",
            "--out",
            out,
        )
        assert_one_line_usage_error(refused, "InvalidInput", why)
        assert "DEV MODE" not in refused.stderr


def test_activity_run_checks_out_before_running(tmp_path: Path) -> None:
    for out, why in _bad_outs(tmp_path):
        assert_one_line_usage_error(loom("activity", "run", "nothing-registered", "--input", "{}", "--out", out), why)


# --- receipts ---------------------------------------------------------------------------------------------------


def test_a_receipt_with_trailing_bytes_is_refused(built: Path, tmp_path: Path) -> None:
    receipt = tmp_path / "hello.receipt"
    proved = loom("zk", "prove", "hello", "--input", HELLO, "--dev-mode", "--out", str(receipt))
    assert proved.returncode == 0, proved.stderr
    verified = loom("zk", "verify", str(receipt), "--guest", "hello", "--allow-dev-mode")
    assert verified.returncode == 0, verified.stderr

    padded = tmp_path / "padded.receipt"
    padded.write_bytes(receipt.read_bytes() + b"\x00")
    refused = loom("zk", "verify", str(padded), "--guest", "hello", "--allow-dev-mode")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert re.search(TRAILING, refused.stderr) and "ReceiptInvalid" in refused.stderr

    hello = zk.load_guest("hello")
    for extra in (b"\x00", b"more bytes"):
        with pytest.raises(errors.ReceiptInvalid, match=TRAILING):
            zk.verify(receipt.read_bytes() + extra, hello.image_id, allow_dev_mode=True)
    assert zk.Receipt.from_bytes(receipt.read_bytes()).to_bytes() == receipt.read_bytes()


# --- --now ------------------------------------------------------------------------------------------------------


@pytest.fixture
def future_presentation(fixtures: Path, tmp_path: Path) -> list[str]:
    """A presentation dated in 2096, and the options that trust its notary and the test server's root."""
    server, n = notary.TestServer.load(fixtures), notary.Notary()
    sent = b"GET / HTTP/1.1\r\nHost: test-server.io\r\n\r\n"
    received = b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{"a": 1}'
    path = tmp_path / "future.bin"
    path.write_bytes(
        notary.notarize(sent, received, handshake=server.handshake(), server_name=server.name, time=FUTURE, notary=n)
    )
    (tmp_path / "root.der").write_bytes(server.root_der)
    return [str(path), "--notary-key", n.public_key.hex(), "--root", str(tmp_path / "root.der")]


def test_a_session_dated_in_the_future_is_refused_by_default(future_presentation: list[str]) -> None:
    refused = loom("tlsn", "verify", *future_presentation)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert f"the session time {FUTURE} is later than now" in refused.stderr
    accepted = loom("tlsn", "verify", *future_presentation, "--now", str(FUTURE + 1), "--json")
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["time"] == FUTURE


def test_tlsn_claim_refuses_a_session_dated_in_the_future(built: Path, future_presentation: list[str]) -> None:
    refused = loom("zk", "tlsn-claim", *future_presentation, "--claim", "a eq 1", "--dev-mode")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"the session time {FUTURE} is later than now" in refused.stderr


# --- limits and grants ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--name", "Bad", "name"),
        ("--memory-mib", "5000", "memory_mib"),
        ("--fuel", str(2**64), "fuel"),
        ("--grant", "loom_net", "host_functions"),
        ("--secret", "../etc", "secret name"),
        ("--output-mib", "0", "output_mib"),
    ],
)
def test_activity_register_refuses_bad_limits_and_grants_in_one_line(
    built: Path, option: str, value: str, named: str
) -> None:
    args = [
        "activity",
        "register",
        str(built / "wasm" / "echo.wasm"),
        "--name",
        "echo2",
        "--version",
        "1.0.0",
        "--runtime",
        "wasm",
        option,
        value,
    ]
    refused = loom(*args)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.count("\n") == 1 and "InvalidInput" in refused.stderr and named in refused.stderr
    assert "Traceback" not in refused.stderr
