"""One receipt for a pipeline's proven steps (the chain guest). Executions (no proofs, step receipts made in dev mode,
which the executor takes as assumptions and no proof would) check what the guest accepts and refuses: the texts it
writes must be byte for byte those Loom's host writes (the input's digest, values interpolated into strings: floats
as repr, integers past 64 bits, escapes, any code point), and anything else is refused on one line. The session's
proven run, chained for real: test_chain_proof.py."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import struct
from typing import Any

import pytest

from pipeline import errors, results, zk
from pipeline.core import canonical
from pipeline.flow import render
from pipeline.results import ChainCall, execute_chain, spec_digest
from tests.support import loom, one_error_line

SPEC: dict[str, Any] = {
    "name": "chained",
    "steps": {
        "first": {
            "activity": "json-claim",
            "input": {"document": "${input.doc}", "claim": {"path": "a", "op": "eq", "value": "${input.want}"}},
        },
        "second": {
            "activity": "json-claim",
            "input": {
                "document": {
                    "held": "${steps.first.output.journal.holds}",
                    "note": "said ${steps.first.output.journal.claim} of ${ steps.first.output.journal.input_sha256 }",
                    "odd": "${input.odd}",
                    "texts": "floats ${input.odd.floats}, ints ${input.odd.ints}, text ${input.odd.text}",
                    "item": "${input.odd.floats.3}",
                    "random": "as text: ${input.random}",
                },
                "claim": {"path": "held", "op": "eq", "value": True},
            },
        },
    },
}
ODD = {
    "floats": [1e16, 1e-05, 0.0001, 0.1, -0.0, 1.5e300, 123456789.125, 1e15, 2.5e-300, 100.0],
    "ints": [0, -7, 2**70, -(2**64) - 1],
    "text": 'ü\u2028\x01\x1f"\\/\t🦊 \x7f',
    "z": {"b": 1, "a": [True, False, None]},
}


def _random_values(count: int, seed: int = 31) -> list[Any]:
    """JSON values of every kind: doubles from random bit patterns, integers past 64 bits, any code point but a
    surrogate, nested containers with keys in any order."""
    rng = random.Random(seed)

    def double() -> float:
        x = float(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0])
        return x if x == x and abs(x) != float("inf") else 0.5

    def text() -> str:
        points = [rng.randint(0, 0x7F), rng.randint(0x80, 0xD7FF), rng.randint(0xE000, 0x10FFFF), 0x2028]
        return "".join(chr(rng.choice(points)) for _ in range(rng.randint(0, 6)))

    def value(depth: int) -> Any:
        pick = rng.random()
        if depth > 2 or pick < 0.6:
            return rng.choice([None, True, False, rng.randint(-(2**80), 2**80), double(), double(), text()])
        if pick < 0.8:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {text(): value(depth + 1) for _ in range(rng.randint(0, 3))}

    return [value(0) for _ in range(count)]


INPUT = {"doc": {"a": 5, "ü": "x"}, "want": 5, "odd": ODD, "random": _random_values(150)}


def dev_receipt(stdin: bytes) -> zk.Receipt:
    """A fake receipt of json-claim on ``stdin``: what the executor needs to run env::verify, and nothing more."""
    return zk.prove(zk.load_guest("json-claim").elf, stdin, dev_mode=True).receipt


def chain_of(
    spec: dict[str, Any], document: Any, *, wasm_style: bool = False, order: tuple[str, ...] = ("first", "second")
) -> tuple[ChainCall, dict[str, Any]]:
    """The chain of ``spec``'s steps run honestly on ``document`` (each step's input rendered as the runner does, each
    receipt a dev-mode one), as the guest's request, with the pieces to alter."""
    context: dict[str, Any] = {"input": document, "steps": {}}
    steps, receipts = [], []
    for name in ("first", "second"):
        rendered = render(spec["steps"][name]["input"], context)
        data = json.dumps(rendered, ensure_ascii=False).encode() if wasm_style else canonical(rendered)
        receipt = dev_receipt(data)
        steps.append({"name": name, "journal": receipt.journal.decode(), "input": data.decode()})
        receipts.append(receipt)
        context["steps"][name] = {"output": {"journal": json.loads(receipt.journal)}}
    image_id = zk.load_guest("json-claim").image_id
    request = {
        "spec": json.dumps(spec, ensure_ascii=False),
        "input": json.dumps(document, ensure_ascii=False),
        "steps": [dict(s, image_id=image_id) for s in steps if s["name"] in order],
    }
    request["steps"].sort(key=lambda s: order.index(s["name"]))
    return call(request, receipts), request


def call(request: dict[str, Any], receipts: list[zk.Receipt]) -> ChainCall:
    steps = tuple(s["name"] for s in request["steps"])
    stdin = json.dumps(request, ensure_ascii=False).encode()
    return ChainCall("test", steps, stdin, tuple(receipts), zk.load_guest("chain"))


@pytest.mark.parametrize("wasm_style", [False, True], ids=["compact", "wasm-text"])
def test_an_honest_chain_commits_the_spec_the_input_and_every_journal(wasm_style: bool) -> None:
    chain, request = chain_of(SPEC, INPUT, wasm_style=wasm_style)
    journal = execute_chain(chain)
    assert journal["format"] == "loom-chain/1"
    assert journal["spec_sha256"] == spec_digest(SPEC)
    assert journal["input_sha256"] == hashlib.sha256(canonical(INPUT)).hexdigest()
    image_id = zk.load_guest("json-claim").image_id
    assert journal["steps"] == [
        {"name": n, "activity": "json-claim", "image_id": image_id, "module_sha256": None} for n in ("first", "second")
    ]
    for step in request["steps"]:
        assert journal["outputs"][step["name"]] == json.loads(step["journal"])
    assert journal["outputs"]["second"]["holds"] is True


def edited(request: dict[str, Any], change: Any) -> dict[str, Any]:
    altered = copy.deepcopy(request)
    change(altered)
    return altered


def _spec_template(r: dict[str, Any]) -> None:
    spec = json.loads(r["spec"])
    spec["steps"]["second"]["input"]["claim"]["value"] = False
    r["spec"] = json.dumps(spec)


def _pipeline_input(r: dict[str, Any]) -> None:
    r["input"] = json.dumps(dict(INPUT, want=6))


def _odd_float(r: dict[str, Any]) -> None:
    r["input"] = json.dumps(dict(INPUT, odd=dict(ODD, floats=[*ODD["floats"][:-1], 100.00000000000001])))


def _step_input(r: dict[str, Any]) -> None:
    r["steps"][0]["input"] = r["steps"][0]["input"].replace('"a":5', '"a":6')


def _journal(r: dict[str, Any]) -> None:
    r["steps"][1]["journal"] = r["steps"][1]["journal"].replace('"holds":true', '"holds":false')


def _other_image(r: dict[str, Any]) -> None:
    r["steps"][0]["image_id"] = zk.load_guest("hello").image_id


def _twice(r: dict[str, Any]) -> None:
    r["steps"].append(r["steps"][1])


def _when(r: dict[str, Any]) -> None:
    spec = json.loads(r["spec"])
    spec["steps"]["second"]["when"] = "${steps.first.output.journal.holds}"
    r["spec"] = json.dumps(spec)


def _no_such_step(r: dict[str, Any]) -> None:
    r["steps"][0]["name"] = "third"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_spec_template, "step second: its input is not what the spec's template gives"),
        (_pipeline_input, "step first: its input is not what the spec's template gives"),
        (_odd_float, "step second: its input is not what the spec's template gives"),
        (_step_input, "step first: its journal does not commit the SHA-256 of the input given for it"),
        (_journal, "step second: no receipt of"),
        (_other_image, "step first: no receipt of"),
        (_twice, "step second is chained twice"),
        (_when, "step second runs only `when` a condition holds"),
        (_no_such_step, "the spec has no step third"),
    ],
    ids=["spec", "input", "input-float", "step-input", "journal", "image", "twice", "when", "unknown-step"],
)
def test_a_chain_that_does_not_hold_is_refused_on_one_line(change: Any, says: str) -> None:
    chain, request = chain_of(SPEC, INPUT)
    receipts = list(chain.assumptions)
    with pytest.raises(errors.NotChainable) as refused:
        execute_chain(call(edited(request, change), receipts))
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_a_step_cannot_read_what_no_earlier_step_in_the_chain_proves() -> None:
    alone, _ = chain_of(SPEC, INPUT, order=("second",))
    with pytest.raises(errors.NotChainable, match="step second reads step first, which is not proven earlier"):
        execute_chain(alone)
    backwards, _ = chain_of(SPEC, INPUT, order=("second", "first"))
    with pytest.raises(errors.NotChainable, match="not proven earlier in the chain"):
        execute_chain(backwards)


def test_a_step_cannot_read_a_receipt_or_other_host_values_of_a_proven_step() -> None:
    spec = copy.deepcopy(SPEC)
    spec["steps"]["second"]["input"]["document"]["note"] = "${steps.first.output.image_id}"
    chain, request = chain_of(SPEC, INPUT)
    request["spec"] = json.dumps(spec)
    with pytest.raises(errors.NotChainable, match="only a proven step's journal"):
        execute_chain(call(request, list(chain.assumptions)))


def test_a_key_given_twice_in_a_step_input_is_refused() -> None:
    """Two readers of such a text may see two values; the guest's JSON refuses it (as Loom's host reader does)."""
    spec = {"name": "dup", "steps": {"first": {"activity": "json-claim", "input": "${input.whole}"}}}
    text = '{"claim": {"path": "a", "op": "exists"}, "document": {"a": 1, "a": 2}}'
    receipt = dev_receipt(text.encode())
    request = {
        "spec": json.dumps(spec),
        "input": json.dumps({"whole": {"claim": {"path": "a", "op": "exists"}, "document": {"a": 2}}}),
        "steps": [
            {"name": "first", "image_id": zk.load_guest("json-claim").image_id, "journal": receipt.journal.decode(),
             "input": text},
        ],
    }  # fmt: skip
    with pytest.raises(errors.NotChainable, match="is given twice"):
        execute_chain(call(request, [receipt]))


def test_chain_without_a_bundle_is_refused(tmp_path: Any) -> None:
    (tmp_path / "p.yaml").write_text("name: p\nsteps:\n  a: {activity: echo, input: {}}\n")
    refused = loom("run", str(tmp_path / "p.yaml"), "--chain", env={"LOOM_HOME": str(tmp_path / "home")})
    assert refused.returncode == 2 and "--chain makes the bundle's receipt" in one_error_line(refused)


@pytest.mark.slow
def test_a_run_whose_proven_step_reads_a_host_step_is_not_chainable(mixed: Any, monkeypatch: Any) -> None:
    """The mixed run: hello reads echo's output, which no receipt proves."""
    from pipeline.flow import Runner

    monkeypatch.setenv("LOOM_HOME", str(mixed.home))
    with pytest.raises(errors.NotChainable, match="step prove reads step echo, which ran on the host"):
        results.chain_call(Runner(), mixed.result.run_id)


@pytest.mark.slow
def test_loom_says_so_and_bundles_one_receipt_per_step(mixed: Any, tmp_path: Any) -> None:
    out = tmp_path / "mixed.bundle.json"
    made = loom("runs", "bundle", mixed.result.run_id, "--chain", "--out", str(out), env={"LOOM_HOME": str(mixed.home)})
    assert made.returncode == 0, made.stderr
    assert "warning: not proven as one chain: step prove reads step echo, which ran on the host" in made.stderr
    bundle = json.loads(out.read_bytes())
    assert bundle["version"] == 1 and "chain" not in bundle  # a version 1 bundle, as older Looms read it
    assert [r["step"] for r in bundle["receipts"]] == ["prove"]
    assert results.verify_bundle(out.read_bytes()).ok


@pytest.mark.parametrize(
    ("guest", "activity", "says"),
    [
        ("json-claim", "json-claim@0.1.0", None),
        (zk.WASM_GUEST, "wrap@1.0.0", None),
        (zk.WASM_GUEST, "json-claim@0.1.0", "the spec runs json-claim@0.1.0, but the chain proves wasm-exec ran"),
        ("hello", "json-claim@0.1.0", "the spec runs json-claim@0.1.0, but the chain proves hello ran"),
    ],
)
def test_a_chained_step_must_be_proven_by_the_guest_its_activity_is(guest: str, activity: str, says: str) -> None:
    """The chain's journal names each step's image ID and, from the spec, its activity: a receipt of another guest
    (a module that prints what json-claim would) does not prove that activity ran."""
    from pipeline.core import pinned_image_ids
    from pipeline.results._bundle import BundleChain, _chained_step

    lock = pinned_image_ids()
    chain = BundleChain(guest_version="0", image_id=lock["chain"], kind="succinct", sha256="0" * 64, receipt="")
    step = {"name": "s", "activity": activity, "image_id": lock[guest], "module_sha256": "ab" * 32}
    check = _chained_step(step, chain, lock, set(), {"s": {"activity": activity}})
    assert check.problem == (None if says is None else f"step s (chained): {says}")
