"""zkTLS: the tlsn-claim guest verifies presentations inside the zkVM (executed here; a real proof of
presentation.bin takes ~10 min on two cores and lives in benches/) and commits the facts and the claims' truth.

Refusals are the guest's own: executing it on a bad presentation stops with exactly the message the native
verifier gives, so no receipt can exist for it. Dev-mode receipts stand in for proofs where only the plumbing is
under test, and are checked to be refused as real."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import ecdsa
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from pipeline import errors, tlsn, zk
from tests.support import GOLDEN_NOTARY_KEY, GOLDEN_TIME, loom, notary
from tests.support.notary import RECEIVED, SENT, mint, policy

CLAIM = tlsn.JsonClaim(path="bazz", op="eq", value=123)


@pytest.fixture(scope="module")
def guest() -> zk.Guest:
    return zk.load_guest(tlsn.CLAIM_GUEST)


def run(guest: zk.Guest, presentation: bytes, pol: tlsn.Policy, claim: tlsn.JsonClaim | None = CLAIM, **kw) -> dict:
    document = tlsn.claim_request(presentation, pol, claim, **kw)
    return json.loads(zk.execute(guest.elf, document).journal)


def refusal(guest: zk.Guest, presentation: bytes, pol: tlsn.Policy) -> str:
    with pytest.raises(errors.GuestPanicked) as caught:
        run(guest, presentation, pol)
    return str(caught.value)


def test_golden_claim_commits_the_facts_not_the_transcript(guest, golden, golden_policy) -> None:
    raw = run(guest, golden, golden_policy, bytes_claim=tlsn.BytesClaim(start=0, text="HTTP/1.1 200 OK"))
    j = tlsn.ClaimJournal.model_validate(raw)
    native = tlsn.verify_presentation(golden, golden_policy)
    assert (j.notary.algorithm, j.notary.key) == ("secp256k1", GOLDEN_NOTARY_KEY)
    assert (j.server, j.time, j.tls_version) == ("tlsnotary.org", GOLDEN_TIME, "1.2")
    sent, received = native.transcript.sent.text.encode(), native.transcript.received.text.encode()
    assert j.transcript.sent.sha256 == hashlib.sha256(sent).hexdigest()
    assert j.transcript.received.sha256 == hashlib.sha256(received).hexdigest()
    assert (j.transcript.sent.length, j.transcript.received.length) == (35, 145)
    assert j.transcript.received.authenticated == [(0, 145)]
    assert j.claim == tlsn.JsonVerdict(claim=CLAIM, found=True, holds=True)
    assert j.bytes.holds and j.bytes.revealed and j.holds
    assert "very-secret-cookie" not in json.dumps(raw) and j.revealed is None and j.cycles is None


@pytest.mark.parametrize(
    ("claim", "found", "holds"),
    [
        ("bazz eq 124", True, False),
        ("bazz ne 123", True, False),
        ("bazz gt 100", True, True),
        ("foo eq bar", True, True),
        ('buzz contains "5"', True, True),
        ("buzz.1 eq 5", True, False),  # "5" is a string
        ("nothing exists", False, False),
    ],
)
def test_claims_true_and_false_each_get_a_journal(guest, golden, golden_policy, claim, found, holds) -> None:
    j = tlsn.ClaimJournal.model_validate(run(guest, golden, golden_policy, tlsn.JsonClaim.parse(claim)))
    assert (j.claim.found, j.claim.holds, j.holds) == (found, holds, holds)


@pytest.mark.parametrize(
    ("bytes_claim", "revealed", "holds"),
    [
        (tlsn.BytesClaim(start=0, text="HTTP/1.1 200 OK"), True, True),
        (tlsn.BytesClaim(start=0, text="HTTP/1.1 404 OK"), True, False),
        (tlsn.BytesClaim(start=0, hex="474554202f"), True, False),  # "GET /" is what was sent, not received
        (tlsn.BytesClaim(direction="sent", start=0, hex="474554202f"), True, True),
        (tlsn.BytesClaim(start=140, text="]}\r\nand more"), False, False),  # runs past the 145 bytes
    ],
)
def test_bytes_claims(guest, golden, golden_policy, bytes_claim, revealed, holds) -> None:
    j = tlsn.ClaimJournal.model_validate(run(guest, golden, golden_policy, None, bytes_claim=bytes_claim))
    assert j.claim is None and (j.bytes.revealed, j.bytes.holds, j.holds) == (revealed, holds, holds)


def test_picked_values_are_stated_in_the_journal_in_the_order_asked(guest, golden, golden_policy) -> None:
    """What a receipt can state, not only judge: the values at the paths asked for (null, not found, when absent)."""
    j = tlsn.ClaimJournal.model_validate(run(guest, golden, golden_policy, None, pick=["bazz", "buzz.1", "nope", ""]))
    assert j.claim is None and j.holds  # no claim: nothing that fails to hold
    assert [(p.path, p.found, p.value) for p in j.picked] == [
        ("bazz", True, 123),
        ("buzz.1", True, "5"),
        ("nope", False, None),
        ("", True, {"foo": "bar", "bazz": 123, "buzz": [1, "5"]}),
    ]
    with_claim = run(guest, golden, golden_policy, pick=["bazz"])
    assert with_claim["claim"]["holds"] and with_claim["picked"] == [{"found": True, "path": "bazz", "value": 123}]
    assert "picked" not in run(guest, golden, golden_policy)  # a journal without picks is the same bytes as before


def test_picks_are_bounded_and_need_the_whole_response(guest, golden, golden_policy, test_server) -> None:
    with pytest.raises(errors.GuestPanicked, match="65 paths to pick; at most 64"):
        run(guest, golden, golden_policy, None, pick=["bazz"] * 65)
    cookie = RECEIVED.index(b"session=")
    redacted = notary.Disclosure(
        open_sent=[[(0, len(SENT))]], open_received=[[(0, cookie), (cookie + 11, len(RECEIVED))]]
    )
    with pytest.raises(errors.GuestPanicked, match="needs the whole response revealed"):
        run(guest, mint(test_server, disclosure=redacted), policy(test_server), None, pick=["balance"])


def test_reveal_puts_the_verifiers_transcript_in_the_journal(guest, golden, golden_policy) -> None:
    j = tlsn.ClaimJournal.model_validate(run(guest, golden, golden_policy, reveal=True))
    assert j.revealed == tlsn.verify_to_dict(golden, golden_policy)["transcript"]


def test_untrusted_notary_gets_no_receipt(guest, golden) -> None:
    other = tlsn.Policy(notary_keys=(notary.Notary(secret=b"\x07" * 32).public_key.hex(),))
    message = refusal(guest, golden, other)
    assert message.startswith("tlsn-claim: policy: the attestation is signed by notary key 035be5")


@pytest.mark.parametrize("offset", [0, 100, 1000, 2500, 4000, 5300, 5393])
def test_tampered_presentation_is_refused_with_the_native_verifiers_reason(
    guest, golden, golden_policy, offset
) -> None:
    tampered = bytearray(golden)
    tampered[offset] ^= 0x01
    with pytest.raises(errors.PresentationInvalid) as native:
        tlsn.verify_presentation(bytes(tampered), golden_policy)
    assert refusal(guest, bytes(tampered), golden_policy) == f"tlsn-claim: {native.value}"


def test_a_claim_over_a_redacted_response_is_refused(guest, test_server) -> None:
    cookie = RECEIVED.index(b"session=")
    disclosure = notary.Disclosure(
        open_sent=[[(0, len(SENT))]], open_received=[[(0, cookie), (cookie + 11, len(RECEIVED))]]
    )
    p = mint(test_server, disclosure=disclosure)
    with pytest.raises(errors.GuestPanicked, match="needs the whole response revealed"):
        run(guest, p, policy(test_server), tlsn.JsonClaim(path="balance", op="eq", value=1234))
    j = tlsn.ClaimJournal.model_validate(
        run(guest, p, policy(test_server), None, bytes_claim=tlsn.BytesClaim(start=cookie, text="session=abc"))
    )
    assert not j.bytes.revealed and not j.holds  # the redacted cookie is neither shown nor claimable
    assert j.transcript.received.authenticated == [(0, cookie), (cookie + 11, len(RECEIVED))]


def p256_server(test_server: notary.TestServer) -> notary.TestServer:
    return test_server.with_leaf_key(ec.generate_private_key(ec.SECP256R1()))


# Presentations whose checks take each accelerated path (RSA chain, secp256k1 and P-256 notaries, P-256 server
# key) and some that don't (secp256k1eth recovery, RSA-PSS, P-384).
ACCELERATION_CASES = {
    "golden: RSA chain, secp256k1 notary": None,
    "P-256 notary": ("secp256r1", "rsa_pkcs1_sha256"),
    "secp256k1eth notary": ("secp256k1eth", "rsa_pkcs1_sha256"),
    "P-256 server key": ("secp256k1", "ecdsa_p256_sha256"),
    "RSA-PSS server signature": ("secp256k1", "rsa_pss_sha256"),
}


@pytest.mark.parametrize("case", ACCELERATION_CASES)
def test_accelerated_and_portable_arithmetic_agree(guest, golden, golden_policy, test_server, case) -> None:
    if ACCELERATION_CASES[case] is None:
        p, pol = golden, golden_policy
    else:
        alg, kx = ACCELERATION_CASES[case]
        server = p256_server(test_server) if kx.startswith("ecdsa") else test_server
        n = notary.Notary(alg)
        p, pol = mint(server, notary=n, handshake=server.handshake(kx)), policy(server, n)
    fast = zk.execute(guest.elf, tlsn.claim_request(p, pol, tlsn.JsonClaim(path="", op="exists")))
    slow = zk.execute(guest.elf, tlsn.claim_request(p, pol, tlsn.JsonClaim(path="", op="exists"), accelerate=False))
    assert fast.journal == slow.journal and json.loads(fast.journal)["holds"]
    if case.startswith("golden"):
        assert fast.user_cycles * 5 < slow.user_cycles


@dataclass
class Impostor(notary.Notary):
    """Names the trusted notary's key in the attestation but signs with a key of its own."""

    claimed: bytes = b""

    @property
    def public_key(self) -> bytes:
        return self.claimed


@pytest.mark.parametrize(
    "case", ["high-S secp256k1 notary", "P-256 server signature of other data", "P-256 notary key not the signer"]
)
def test_accelerated_checks_refuse_what_the_native_verifier_refuses(guest, test_server, case) -> None:
    server = test_server
    if case == "high-S secp256k1 notary":
        n = notary.Notary(high_s=True)
        p = mint(server, notary=n)
    elif case == "P-256 server signature of other data":
        server = p256_server(test_server)
        n = notary.Notary()
        hs = server.handshake("ecdsa_p256_sha256")
        hs.client_random = bytes(32)  # the server signed other randoms
        p = mint(server, handshake=hs)
    else:
        n = notary.Notary("secp256r1")
        p = mint(server, notary=Impostor("secp256r1", secret=b"\x07" * 32, claimed=n.public_key))
    with pytest.raises(errors.PresentationInvalid) as native:
        tlsn.verify_presentation(p, policy(server, n))
    assert native.value.stage in ("signature", "identity", "attestation")
    assert refusal(guest, p, policy(server, n)) == f"tlsn-claim: {native.value}"


def test_framed_and_json_input_give_the_same_journal(guest, golden, golden_policy) -> None:
    """The guest takes the presentation framed as raw bytes (what claim_request sends) or in base64 inside one
    JSON document (a pipeline step's input); both are the same request."""
    bytes_claim = tlsn.BytesClaim(start=0, hex="48545450")
    framed = tlsn.claim_request(golden, golden_policy, CLAIM, bytes_claim=bytes_claim, reveal=True)
    assert framed.startswith(tlsn.CLAIM_FRAME)
    document = {
        "presentation": base64.b64encode(golden).decode(),
        "policy": golden_policy.to_request(),
        "claim": CLAIM.model_dump(),
        "bytes": bytes_claim.model_dump(exclude_none=True),
        "reveal": True,
    }
    journal = zk.execute(guest.elf, framed).journal
    assert zk.execute(guest.elf, document).journal == journal
    assert json.loads(journal)["revealed"]["received"]["length"] == 145
    twice = framed[: len(framed) - 1] + b', "presentation": ""}'
    with pytest.raises(errors.GuestPanicked, match="given twice"):
        zk.execute(guest.elf, twice)


@pytest.mark.parametrize("length", [2**32 - 1, 2**24 + 1])
def test_a_framed_length_beyond_any_presentation_is_refused_before_it_is_allocated(guest, length) -> None:
    """A hostile length must not make the guest reserve gigabytes (a trap, not a reason); it is refused by size."""
    hostile = tlsn.CLAIM_FRAME + length.to_bytes(4, "little") + b"{}"
    with pytest.raises(errors.GuestPanicked, match=r"bad input: a framed presentation of \d+ bytes exceeds"):
        zk.execute(guest.elf, hostile)


def _secp256k1_secret(tag: int) -> bytes:
    """A notary secret whose public key, compressed, starts with ``tag`` (2: even y, 3: odd y)."""
    for i in range(1, 256):
        secret = bytes([i]) * 32
        if notary.Notary(secret=secret).public_key[0] == tag:
            return secret
    raise AssertionError("unreachable")


@pytest.mark.parametrize("tag", [2, 3])
def test_notary_keys_of_either_parity_and_spelling(guest, test_server, tag) -> None:
    """The guest decompresses the notary key on the accelerator and compares trusted keys by their encodings;
    both must agree with the native verifier for even and odd y and for keys spelled either way."""
    n = notary.Notary(secret=_secp256k1_secret(tag))
    p = mint(test_server, notary=n)
    point = ecdsa.VerifyingKey.from_string(n.public_key, curve=ecdsa.SECP256k1)
    for spelling in ("compressed", "uncompressed"):
        pol = policy(test_server, n).model_copy(update={"notary_keys": (point.to_string(spelling).hex(),)})
        j = tlsn.ClaimJournal.model_validate(run(guest, p, pol, tlsn.JsonClaim(path="", op="exists")))
        assert j.holds and j.notary.key == n.public_key.hex()
        assert j.notary.key == tlsn.verify_presentation(p, pol).notary.key
    # The same x with the other parity is another point: not trusted.
    other = bytes([tag ^ 1]) + n.public_key[1:]
    pol = policy(test_server, n).model_copy(update={"notary_keys": (other.hex(),)})
    with pytest.raises(errors.PresentationInvalid) as native:
        tlsn.verify_presentation(p, pol)
    assert "not trusted" in str(native.value)
    assert refusal(guest, p, pol) == f"tlsn-claim: {native.value}"


def test_a_notary_key_that_is_no_point_is_refused_like_natively(guest, test_server) -> None:
    """A compressed key whose x has no y on secp256k1 (x^3 + 7 not a square), and one with x >= p."""
    p_field = 2**256 - 2**32 - 977
    x = next(x for x in range(1, 100) if pow(x**3 + 7, (p_field - 1) // 2, p_field) != 1)
    for claimed in (b"\x02" + x.to_bytes(32, "big"), b"\x03" + (p_field + 1).to_bytes(32, "big")):
        impostor = Impostor("secp256k1", secret=b"\x07" * 32, claimed=claimed)
        p = mint(test_server, notary=impostor)
        pol = policy(test_server, impostor)
        with pytest.raises(errors.PresentationInvalid) as native:
            tlsn.verify_presentation(p, pol)
        assert "not a secp256k1 point" in str(native.value)
        assert refusal(guest, p, pol) == f"tlsn-claim: {native.value}"


def test_profile_attributes_the_cycles_to_phases(guest, golden, golden_policy) -> None:
    execution = zk.execute(guest.elf, tlsn.claim_request(golden, golden_policy, CLAIM, profile=True))
    phases = dict(tlsn.ClaimJournal.model_validate_json(execution.journal).cycles)
    assert list(phases) == [
        "input",
        "roots",
        "decode",
        "attestation hashing",
        "notary signature",
        "identity hashing",
        "certificate chain",
        "server signature",
        "transcript hashing",
        "claims and journal",
    ]
    # Only a fixed tail is outside every phase: serializing and committing the journal (which holds these
    # numbers) and the zkVM's own exit, ~100k cycles before the guest got cheaper and after.
    assert execution.user_cycles - 150_000 < sum(phases.values()) <= execution.user_cycles


def test_the_claim_is_planned_in_the_smallest_segments_that_cost_no_more_rows(guest, golden, golden_policy) -> None:
    """The claim fills 2^20 rows as 1, 2 or 4 segments (2^20, 2^19, 2^18): composite takes the 2^18 ones, a quarter
    of the memory; succinct stays at one segment, since each extra segment costs a lift and a join."""
    document = zk.encode_input(tlsn.claim_request(golden, golden_policy, CLAIM))
    composite = zk.cheapest_segments(guest.elf, document, ceiling=20, succinct=False)
    assert (composite.po2, composite.segments, composite.rows) == (18, 4, 1 << 20)
    succinct = zk.cheapest_segments(guest.elf, document, ceiling=20, succinct=True)
    assert (succinct.po2, succinct.segments) == (20, 1)
    assert zk.execute(guest.elf, document, segment_limit_po2=17).total_cycles > 1 << 20  # why the search stopped


def test_zktls_prove_in_dev_mode_is_labelled_and_never_verifies_as_real(guest, golden, golden_policy) -> None:
    receipt = tlsn.prove_claim(golden, golden_policy, CLAIM, dev_mode=True)
    assert receipt.is_dev_mode
    with pytest.raises(errors.ReceiptInvalid, match="dev"):
        zk.verify(receipt, guest.image_id)
    journal = tlsn.decode_claim(zk.verify(receipt, guest.image_id, allow_dev_mode=True))
    assert journal.holds and journal.server == "tlsnotary.org"


def test_zktls_prove_raises_the_verifiers_reason_and_needs_a_claim(golden, golden_policy) -> None:
    untrusted = tlsn.Policy(notary_keys=(notary.Notary(secret=b"\x07" * 32).public_key.hex(),))
    with pytest.raises(errors.PresentationInvalid, match="not trusted") as caught:
        tlsn.prove_claim(golden, untrusted, CLAIM, dev_mode=True)
    assert caught.value.stage == "policy"
    with pytest.raises(errors.InvalidInput, match="nothing to prove"):
        tlsn.prove_claim(golden, golden_policy, dev_mode=True)


def test_cli_tlsn_claim_and_verify(fixtures: Path, tmp_path: Path) -> None:
    presentation = str(fixtures / "tlsn" / "presentation.bin")
    receipt = tmp_path / "claim.receipt"
    args = ["tlsn-claim", presentation, "--notary-key", GOLDEN_NOTARY_KEY, "--claim", "bazz eq 123", "--dev-mode"]
    proved = loom("zk", *args, "--json", "-o", str(receipt))
    assert proved.returncode == 0, proved.stderr
    facts = json.loads(proved.stdout)
    assert facts["dev_mode"] and facts["journal"]["holds"] and facts["journal"]["server"] == "tlsnotary.org"
    assert "DEV MODE" in proved.stderr
    refused = loom("zk", "verify", str(receipt), "--guest", "tlsn-claim")
    assert refused.returncode == 1 and "dev" in refused.stderr.lower()
    shown = loom("zk", "verify", str(receipt), "--guest", "tlsn-claim", "--allow-dev-mode")
    assert shown.returncode == 0, shown.stderr
    assert "bazz eq 123: holds" in shown.stdout and "tlsnotary.org" in shown.stdout
    false_claim = loom("zk", *args[:5], "bazz eq 124", "--dev-mode")
    assert false_claim.returncode == 0 and "does not hold" in false_claim.stdout
    untrusted = loom("zk", *args[:3], "02" + "11" * 32, *args[4:])
    assert untrusted.returncode == 1 and "PresentationInvalid" in untrusted.stderr and "not trusted" in untrusted.stderr
    bad_claim = loom("zk", *args[:5], "bazz equals 123", "--dev-mode")
    assert bad_claim.returncode == 2 and "operator 'equals'" in bad_claim.stderr


def test_pipeline_step_refusal_fails_the_run_without_retry(golden) -> None:
    from pipeline.activities import register_builtins
    from pipeline.flow import Runner, load_pipeline
    from pipeline.store import default_blobstore, default_journal, default_registry

    register_builtins(default_blobstore(), default_registry())
    spec = load_pipeline(Path(__file__).resolve().parents[2] / "examples" / "zktls-claim.yaml")
    document = {
        "presentation": base64.b64encode(golden).decode(),
        "notary_key": "02" + "11" * 32,
        "server": "tlsnotary.org",
        "path": "bazz",
        "op": "eq",
        "value": 123,
    }
    result = Runner().run(spec, document)
    assert result.status == "failed" and "not trusted" in result.error
    assert [(a.step, a.attempt) for a in default_journal().attempts(result.run_id)] == [("prove", 1)]
