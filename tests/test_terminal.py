"""What untrusted text can do to the user's terminal: nothing. Guest logs and errors, activity outputs, transcripts
and journaled errors are shown as inert text (never rich markup, control characters escaped), and big outputs print
fast and, on a terminal, bounded."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from rich.console import Console

from pipeline import tlsn
from pipeline.activities import register_module
from pipeline.cli import output
from pipeline.cli import zk as zk_cli
from pipeline.core import Capabilities
from pipeline.store import AttemptEnd, NewAttempt, StepStatus, default_journal
from tests.support import loom, notary
from tests.support.wat import ECHO_BODY, rust_abi_module, wat_bytes

HOSTILE = "[/x]\x1b[2J"  # a closing tag with nothing open (rich raises MarkupError), then "clear the screen"
SHOWN = "[/x]\\x1b[2J"  # how it must appear: literally, with the escape visible
ESC = "\x1b"


def register(name: str, module: bytes, **kw) -> None:
    register_module(module, name=name, version="1.0.0", runtime="wasm", **kw)


# --- the helpers ------------------------------------------------------------------------------------------------


def test_plain_escapes_every_terminal_control_and_keeps_text() -> None:
    assert output.plain(HOSTILE) == SHOWN
    assert output.plain("a\x07b\x7fc\x9bd\u202ee\ud800f") == "a\\x07b\\x7fc\\x9bd\\u202ee\\ud800f"
    assert output.plain("naïve ✓ 日本 [bold]") == "naïve ✓ 日本 [bold]"
    assert output.one_line("first\r\n  second\n\nthird\x1b") == "first second third\\x1b"


def test_safe_text_is_never_markup() -> None:
    console = Console(file=io.StringIO(), width=100)
    console.print(output.safe(f"{HOSTILE}[bold]b[/bold]"))
    assert console.file.getvalue() == f"{SHOWN}[bold]b[/bold]\n"


def test_json_text_is_valid_json_with_no_terminal_controls() -> None:
    value = {"k": f"{HOSTILE}\x9b\u202e\u2028\x7f\ud800 é", "n": [1, 2]}
    for indent in (None, 2):
        text = output.json_text(value, indent=indent)
        assert json.loads(text) == value
        assert all(not (c < " " and c != "\n") and not "\x7f" <= c <= "\x9f" for c in text)
        assert "é" in text and "\u202e" not in text and "\u2028" not in text


def test_print_json_on_a_terminal_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(output, "console", Console(file=out, force_terminal=True))
    monkeypatch.setattr(output, "err_console", Console(file=err, force_terminal=False, width=200))
    value = {"items": ["x" * 1000] * 1000}
    output.print_json(value, hint="use --out FILE")
    shown = out.getvalue().encode()
    assert len(shown) <= output.TERMINAL_BOUND and shown.endswith(b"\n") and shown.startswith(b'{\n  "items": [')
    full = len(output.json_text(value, indent=2).encode()) + 1
    assert err.getvalue() == f"... {full - len(shown):,} more bytes not shown: use --out FILE\n"


def test_print_json_to_a_pipe_is_everything_compact(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(output, "console", Console(file=out, force_terminal=False))
    value = {"items": ["x" * 1000] * 1000}
    output.print_json(value, hint="unused")
    assert out.getvalue() == json.dumps(value, separators=(",", ":")) + "\n"


def test_claim_journal_from_a_receipt_is_shown_inert(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(zk_cli, "console", Console(file=out, width=300))
    journal = tlsn.ClaimJournal.model_validate(
        {
            "notary": {"algorithm": "secp256k1", "key": "02ab"},
            "server": HOSTILE,
            "time": 1671637529,
            "tls_version": "1.2",
            "transcript": {d: {"length": 1, "authenticated": [[0, 1]], "sha256": "00"} for d in ("sent", "received")},
            "claim": {"claim": {"path": "[bold]a", "op": "eq", "value": HOSTILE}, "found": True, "holds": True},
            "bytes": {"claim": {"start": 0, "text": "[/]\x9b"}, "revealed": True, "holds": False},
            "holds": False,
        }
    )
    zk_cli.show_claim(journal)
    text = out.getvalue()
    assert ESC not in text and "\x9b" not in text
    assert SHOWN in text and "response JSON: [bold]a eq '[/x]\\x1b[2J': holds" in text
    assert "received bytes at 0 = '[/]\\x9b': does not hold" in text


# --- the commands -----------------------------------------------------------------------------------------------


def test_runs_list_and_show_print_a_hostile_journal_literally() -> None:
    journal = default_journal()
    run_id = journal.start_run(f"pipe{HOSTILE}", "{}", "0" * 64)
    step = f"step[bold]{ESC}]0;title\x07"
    journal.begin_attempts(run_id, [NewAttempt(step, 1, "act@1.0.0")])
    journal.end_attempts(
        run_id,
        [AttemptEnd(step, 1, StepStatus.FAILED, error_type="ActivityTrapped", error=f"{HOSTILE}\nsecond line")],
    )
    journal.finish_run(run_id, "failed", error=f"{HOSTILE}\nsecond line")
    for args in (["runs", "list"], ["runs", "list"], ["runs", "show", run_id]):  # twice: it used to stay broken
        shown = loom(*args)
        assert shown.returncode == 0, shown.stderr
        assert ESC not in shown.stdout and "\x07" not in shown.stdout
        assert SHOWN in shown.stdout and "second line" in shown.stdout
    assert "step[bold]\\x1b]0;title\\x07" in shown.stdout and f"pipe{SHOWN}" in shown.stdout


def test_a_guests_failure_is_one_inert_line_on_stderr() -> None:
    reason = f"{HOSTILE}\nerror: fake second line\x9b".encode()
    register(
        "rejecter",
        rust_abi_module(
            f"(call $fail (i32.const 16) (i32.const {len(reason)})) (i64.const 0)",
            imports='(import "loom" "fail" (func $fail (param i32 i32)))',
            data=wat_bytes(reason),
        ),
    )
    failed = loom("activity", "run", "rejecter", "--input", "{}")
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1 and ESC not in failed.stderr and "\x9b" not in failed.stderr
    assert failed.stderr.startswith("error: ActivityRejected: ")
    assert f"{SHOWN} error: fake second line\\x9b" in failed.stderr


def test_activity_log_lines_are_inert() -> None:
    line = f"{HOSTILE}[bold]\nfake".encode()
    body = f"(call $log (i32.const 2) (i32.const 16) (i32.const {len(line)})) {ECHO_BODY}"
    register(
        "logger",
        rust_abi_module(body, imports='(import "loom" "log" (func $log (param i32 i32 i32)))', data=wat_bytes(line)),
        capabilities=Capabilities(host_functions=("loom_log",)),
    )
    ran = loom("activity", "run", "logger", "--input", '{"x": 1}')
    assert ran.returncode == 0, ran.stderr
    assert ESC not in ran.stderr and f"warn {SHOWN}[bold]\\x0afake\n" in ran.stderr
    assert json.loads(ran.stdout) == {"x": 1}


def test_activity_output_keeps_unicode_and_escapes_controls() -> None:
    register("echo-raw", rust_abi_module())
    document = {"text": f"{HOSTILE}\x9b[2J\u202eé日本"}
    ran = loom("activity", "run", "echo-raw", "--input", json.dumps(document))
    assert ran.returncode == 0, ran.stderr
    assert ESC not in ran.stdout and "\x9b" not in ran.stdout and "\u202e" not in ran.stdout
    assert "é日本" in ran.stdout and json.loads(ran.stdout) == document


def test_a_mebibyte_of_output_is_fast_bounded_on_a_terminal_and_whole_in_a_file(tmp_path: Path) -> None:
    register("echo-big", rust_abi_module(pages=48))
    document = {"items": [f"{i:06d}" + "x" * 1000 for i in range(1100)]}
    (tmp_path / "in.json").write_text(json.dumps(document))
    started = time.monotonic()
    piped = loom("activity", "run", "echo-big", "--input", f"@{tmp_path / 'in.json'}")
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout) == document and time.monotonic() - started < 20

    terminal = loom(
        "activity",
        "run",
        "echo-big",
        "--input",
        f"@{tmp_path / 'in.json'}",
        env={"TTY_COMPATIBLE": "1", "NO_COLOR": "1"},
    )
    assert terminal.returncode == 0, terminal.stderr
    assert len(terminal.stdout.encode()) <= output.TERMINAL_BOUND and '"000000x' in terminal.stdout
    assert "more bytes not shown: use --out FILE" in terminal.stderr

    out = tmp_path / "out.json"
    written = loom("activity", "run", "echo-big", "--input", f"@{tmp_path / 'in.json'}", "--out", str(out))
    assert written.returncode == 0 and written.stdout == "" and str(out) in written.stderr
    assert json.loads(out.read_text()) == document


def test_a_transcript_and_reason_phrase_cannot_drive_the_terminal(fixtures: Path, tmp_path: Path) -> None:
    test_server = notary.TestServer.load(fixtures)
    sent = b"GET / HTTP/1.1\r\nHost: test-server.io\r\n\r\n"
    body = b'{"a": "\x1b[2J\x1b]0;pwned\x07[bold]"}'
    received = b"HTTP/1.1 200 OK [/x]\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    n = notary.Notary()
    presentation = tmp_path / "p.bin"
    presentation.write_bytes(
        notary.notarize(
            sent, received, handshake=test_server.handshake(), server_name=test_server.name, time=1790000000, notary=n
        )
    )
    (tmp_path / "root.der").write_bytes(test_server.root_der)
    shown = loom(
        "tlsn", "verify", str(presentation), "--notary-key", n.public_key.hex(), "--root", str(tmp_path / "root.der")
    )
    assert shown.returncode == 0, shown.stderr
    assert ESC not in shown.stdout and "\x07" not in shown.stdout
    assert '"a": "\\x1b[2J\\x1b]0;pwned\\x07[bold]"' in shown.stdout
    assert "HTTP response: 200 OK [/x]," in shown.stdout
