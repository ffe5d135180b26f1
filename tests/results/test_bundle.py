"""A bundle as its recipient sees it: verified with nothing but the bundle and the image IDs Loom ships, and refused,
with one line, whenever anything in it was changed: a value, a label, a receipt, a byte, the file itself."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from pipeline import errors, zk
from pipeline import results as bundle
from pipeline.flow import Event, Source, dotted
from tests.support import HELLO_INPUT, loom, one_error_line, rust_made_receipt
from tests.support.mixed import MIXED_INPUT, MixedRun, receipt_bytes

pytestmark = pytest.mark.slow  # the mixed run makes a real proof


def problems(data: bytes, **kw: Any) -> list[str]:
    return bundle.verify_bundle(data, **kw).problems


def set_receipt(data: dict[str, Any], raw: bytes, **fields: str) -> None:
    entry = data["receipts"][0]
    entry.update(receipt=base64.b64encode(raw).decode(), sha256=hashlib.sha256(raw).hexdigest(), **fields)


def test_the_mixed_run_labels_each_value_by_where_it_comes_from(mixed: MixedRun) -> None:
    labels = {dotted(p.path): (p.source, p.journal_path) for p in mixed.result.provenance}
    assert labels == {
        "sum": (Source.proven, "sum"),
        "count": (Source.proven, "count"),
        "words": (Source.host, None),  # the echo step: wasm, on the host
        "sentence": (Source.host, None),  # text interpolated from a proven value is new, host-made text
        "label": (Source.host, None),
        "receipt": (Source.host, None),
    }
    assert mixed.result.output["sum"] == 6 and mixed.result.output["sentence"] == "the sum is 6"


def test_the_proof_reports_its_segments_and_is_real_whatever_the_environment_says(mixed: MixedRun) -> None:
    """The run was made with RISC0_DEV_MODE=1 in its environment: Loom takes dev mode only when asked for it."""
    progress = [details for step, event, details in mixed.events if step == "prove" and event == Event.PROGRESS]
    assert progress[0] == {"phase": "segment", "done": 0, "total": 1}
    assert progress[-1] == {"phase": "segment", "done": 1, "total": 1}
    receipt = zk.Receipt.from_bytes(receipt_bytes(mixed.bundle))
    assert receipt.kind == "composite" and not receipt.is_dev_mode


def test_a_bundle_verifies_with_nothing_but_itself(mixed: MixedRun, hello: zk.Guest) -> None:
    report = bundle.verify_bundle(mixed.bundle, require_proven=["sum", "count"])
    assert report.ok, report.problems
    assert [(r.step, r.guest, r.image_id, r.trusted, r.verified) for r in report.receipts] == [
        ("prove", "hello", hello.image_id, True, True)
    ]
    checked = {dotted(v.path): v.verified for v in report.values}
    assert checked == {"sum": True, "count": True, "words": None, "sentence": None, "label": None, "receipt": None}
    made = bundle.parse_bundle(mixed.bundle)
    assert made.pipeline.name == "mixed" and made.run_id == mixed.result.run_id
    canonical_input = json.dumps(MIXED_INPUT, sort_keys=True, separators=(",", ":")).encode()
    assert made.input_sha256 == hashlib.sha256(canonical_input).hexdigest()
    # the receipt the run kept, as risc0's own bytes: nothing in the bundle points into a data dir
    assert hashlib.sha256(receipt_bytes(mixed.bundle)).hexdigest() == mixed.result.output["receipt"]


def test_a_changed_proven_value_is_refused(mixed: MixedRun) -> None:
    found = problems(mixed.edited(lambda d: d["output"].update(sum=7)))
    assert found == ["sum is 7 in the bundle, but the receipt of step prove (hello) proves 6"]


@pytest.mark.parametrize("journal_path", ["sum", "words", ""])
def test_a_host_value_relabelled_proven_is_refused(mixed: MixedRun, journal_path: str) -> None:
    def relabel(d: dict[str, Any]) -> None:
        entry = next(p for p in d["provenance"] if p["path"] == ["words"])
        entry.update(source="proven", step="prove", journal_path=journal_path)

    (problem,) = problems(mixed.edited(relabel))
    assert problem.startswith("words")


def test_a_receipt_swapped_for_another_valid_receipt_of_the_same_guest_is_refused(
    mixed: MixedRun, hello: zk.Guest
) -> None:
    other = rust_made_receipt(hello, HELLO_INPUT)  # hello on another input: a receipt that verifies, of other facts
    assert json.loads(zk.verify(other, hello.image_id))["sum"] == sum(HELLO_INPUT["words"])
    found = problems(mixed.edited(lambda d: set_receipt(d, other)))
    assert found == [
        "sum is 6 in the bundle, but the receipt of step prove (hello) proves 42",
        "count is 3 in the bundle, but the receipt of step prove (hello) proves 2",
    ]


def test_a_receipt_of_another_guest_is_refused(mixed: MixedRun, flagship_bundle: Path, hello: zk.Guest) -> None:
    claim = receipt_bytes(flagship_bundle.read_bytes())  # a real receipt, of tlsn-claim
    claim_id = zk.load_guest("tlsn-claim").image_id
    (problem,) = problems(mixed.edited(lambda d: set_receipt(d, claim)))
    assert problem == f"receipt of step prove: receipt is for image {claim_id}, expected {hello.image_id}"
    # relabelled as what it is, it verifies, but it is no receipt of the activity the spec runs there
    relabelled = mixed.edited(lambda d: set_receipt(d, claim, guest="tlsn-claim", image_id=claim_id))
    (problem,) = problems(relabelled)
    assert problem.startswith("receipt of step prove: the spec runs hello@") and problem.endswith(
        "but the receipt proves tlsn-claim ran"
    )
    # and an image ID named under another guest's name is not trusted as that guest
    (problem,) = problems(mixed.edited(lambda d: set_receipt(d, claim, image_id=claim_id)))
    assert problem.endswith("is this Loom's tlsn-claim, not hello")
    report = bundle.verify_bundle(mixed.edited(lambda d: set_receipt(d, claim)))
    assert {dotted(v.path): v.verified for v in report.values if v.source is Source.proven} == {
        "sum": False,
        "count": False,
    }


@pytest.mark.parametrize("where", [0, 40, 0.5, -40, -1])
def test_a_flipped_receipt_byte_is_refused(mixed: MixedRun, where: float) -> None:
    raw = bytearray(receipt_bytes(mixed.bundle))
    raw[int(where * len(raw)) if isinstance(where, float) else where] ^= 0x01
    (problem,) = problems(mixed.edited(lambda d: d["receipts"][0].update(receipt=base64.b64encode(raw).decode())))
    assert problem == "receipt of step prove: its bytes do not match its sha256 (altered)"
    (problem,) = problems(mixed.edited(lambda d: set_receipt(d, bytes(raw))))  # the digest recomputed to match
    assert problem.startswith("receipt of step prove: ")
    assert "verif" in problem or "not a risc0 receipt" in problem


def test_a_dev_mode_receipt_is_refused(mixed: MixedRun, hello: zk.Guest) -> None:
    fake = zk.prove(hello.elf, {"words": [1, 2, 3]}, dev_mode=True).receipt.to_bytes()  # the same journal, no proof
    (problem,) = problems(mixed.edited(lambda d: set_receipt(d, fake)))
    assert "dev-mode (fake) receipt refused" in problem


def test_an_image_id_this_loom_does_not_know_is_reported_never_trusted(mixed: MixedRun, hello: zk.Guest) -> None:
    (problem,) = problems(mixed.bundle, lock={})
    assert problem == (
        f"receipt of step prove: image ID {hello.image_id[:12]}... of guest hello is unknown to this Loom; "
        f"pass --image-id {hello.image_id} if you trust that program"
    )
    assert problems(mixed.bundle, lock={}, image_ids=[hello.image_id]) == []
    (problem,) = problems(mixed.bundle, lock={"hello": "00" * 32})
    assert "is not this Loom's hello" in problem


def test_every_value_has_exactly_one_provenance(mixed: MixedRun) -> None:
    assert problems(mixed.edited(lambda d: d["output"].update(extra=1))) == ["output value extra has no provenance"]
    assert problems(mixed.edited(lambda d: d["provenance"].pop(0))) == ["output value sum has no provenance"]
    doubled = mixed.edited(lambda d: d["provenance"].append(d["provenance"][0]))
    assert problems(doubled) == ["two provenance entries for one output value"]
    covering = mixed.edited(lambda d: d["provenance"].append({"path": [], "source": "host", "why": "all of it"}))
    assert "provenance of . overlaps that of a value inside it" in problems(covering)
    ghost = {"path": ["ghost"], "source": "host", "why": "nothing"}
    assert problems(mixed.edited(lambda d: d["provenance"].append(ghost))) == [
        "provenance names ghost, which is not in the output"
    ]


def test_a_changed_spec_no_longer_matches_its_digest(mixed: MixedRun) -> None:
    found = problems(mixed.edited(lambda d: d["pipeline"]["spec"].update(name="other")))
    assert found == ["the pipeline spec does not match its spec_sha256"]


def test_a_spec_that_runs_another_activity_than_the_receipt_proves_is_refused(mixed: MixedRun) -> None:
    """The step's activity changed in the spec, and its digest made to match: hello's receipt proves hello ran."""

    def other_activity(d: dict[str, Any]) -> None:
        d["pipeline"]["spec"]["steps"]["prove"]["activity"] = "json-claim@0.1.0"
        d["pipeline"]["spec_sha256"] = bundle.spec_digest(d["pipeline"]["spec"])

    assert problems(mixed.edited(other_activity)) == [
        "receipt of step prove: the spec runs json-claim@0.1.0, but the receipt proves hello ran"
    ]


def test_require_proven(mixed: MixedRun) -> None:
    assert problems(mixed.bundle, require_proven=["sum", "count"]) == []
    assert problems(mixed.bundle, require_proven=["words"]) == [
        "--require-proven words: words is not proven (computed by step echo (wasm), outside the zkVM)"
    ]
    assert problems(mixed.bundle, require_proven=["."])[0].startswith("--require-proven .: words is not proven")
    assert problems(mixed.bundle, require_proven=["nowhere"]) == [
        "--require-proven nowhere: the output has no value there"
    ]


def write(tmp_path: Path, data: bytes, name: str = "b.json") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_the_cli_verifies_and_refuses_with_one_line(mixed: MixedRun, tmp_path: Path) -> None:
    fresh = {"LOOM_HOME": str(tmp_path / "fresh-home")}
    ok = loom("verify", write(tmp_path, mixed.bundle), "--require-proven", "sum", env=fresh)
    assert ok.returncode == 0, ok.stderr
    assert "bundle verified: 2 of 6 values proven" in ok.stdout and "proven" in ok.stdout and "host" in ok.stdout
    report = json.loads(loom("verify", write(tmp_path, mixed.bundle), "--json", env=fresh).stdout)
    assert report["ok"] is True and report["problems"] == []
    changed = loom("verify", write(tmp_path, mixed.edited(lambda d: d["output"].update(sum=7))), env=fresh)
    assert changed.returncode == 1
    assert one_error_line(changed) == (
        "error: BundleRefused: sum is 7 in the bundle, but the receipt of step prove (hello) proves 6"
    )
    required = loom("verify", write(tmp_path, mixed.bundle), "--require-proven", "label", env=fresh)
    assert required.returncode == 1 and "--require-proven label: label is not proven" in one_error_line(required)
    assert not (tmp_path / "fresh-home" / "journal.sqlite").exists()  # verifying needs no data dir


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda b: b[: len(b) // 2], "not a bundle: not JSON"),
        (lambda b: b[:100], "not a bundle: not JSON"),
        (lambda b: b"", "not a bundle: not JSON"),
        (lambda b: b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "not a bundle: not JSON"),
        (lambda b: b"[1, 2]", 'not a bundle: no "format": "loom-bundle" field'),
        (lambda b: b.replace(b'"version": 1', b'"version": 3', 1), "bundle version 3 is not one this Loom reads"),
        (lambda b: b.replace(b'"version": 1', b'"version": true', 1), "bundle version true is not one this Loom reads"),
        (
            lambda b: b.replace(
                b'"receipts": [',
                b'"chain": {"guest": "chain", "guest_version": "0", "image_id": "'
                + b"a" * 64
                + b'", "kind": "succinct", "sha256": "'
                + b"b" * 64
                + b'", "receipt": ""}, "receipts": [',
                1,
            ),
            "a chain receipt needs bundle version 2",
        ),
        (lambda b: b.replace(b'"version": 1', b'"version": "1"', 1), 'bundle version "1" is not one this Loom reads'),
        (lambda b: b.replace(b'"run_id"', b'"run_id": "x", "run_id"', 1), 'the key "run_id" is given twice'),
        (lambda b: b.replace(b'"output": {', b'"output": {"nan": NaN, ', 1), "NaN is not a JSON value"),
        (lambda b: b.replace(b'"receipts": [', b'"receipts": 7, "x": [', 1), "not a valid bundle"),
        (lambda b: b'{"format": "loom-bundle", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ],
)
def test_what_is_not_a_bundle_is_refused_with_one_line(mixed: MixedRun, tmp_path: Path, make, reason: str) -> None:
    refused = loom("verify", write(tmp_path, make(mixed.bundle)))
    assert refused.returncode == 2, refused.stderr
    assert reason in one_error_line(refused)


def test_files_that_are_not_bundles_are_refused_without_reading_them(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    for path, reason in [
        (tmp_path / "fifo", "is not a regular file"),  # opening it would wait for a writer forever
        (Path("/dev/zero"), "is not a regular file"),  # endless
        (tmp_path, "is not a regular file"),
        (tmp_path / "missing.json", "No such file or directory"),
    ]:
        refused = loom("verify", str(path), timeout=30)
        assert refused.returncode == 2 and reason in one_error_line(refused), refused.stderr
    big = tmp_path / "big.json"
    with open(big, "wb") as file:
        file.truncate(bundle.MAX_BYTES + 1)  # sparse: refused by its size, before a byte is read
    refused = loom("verify", str(big), timeout=30)
    assert refused.returncode == 2 and "at most 268,435,456 are read" in one_error_line(refused)


def test_parse_refuses_what_verify_bundle_would_not_read() -> None:
    with pytest.raises(errors.InvalidInput, match="not a bundle"):
        bundle.verify_bundle(b"{}")
