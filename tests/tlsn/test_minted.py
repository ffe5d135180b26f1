"""Presentations minted by the test notary: partial reveals, every notary signature and hash algorithm, every
server key-exchange signature, and the policy checks TLSNotary leaves to its caller."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from pipeline import errors, tlsn
from tests.support import notary
from tests.support.notary import RECEIVED, SENT, TIME, mint, policy


def test_full_reveal_round_trips_with_chunked_http(test_server: notary.TestServer, backend: str) -> None:
    v = tlsn.verify_presentation(mint(test_server), policy(test_server), backend)
    assert v.transcript.sent.text == SENT.decode() and v.transcript.received.text == RECEIVED.decode()
    assert v.http.request.target == "/api/balance"
    assert v.http.response.body == '{"balance": 1234}' and v.http.response.body_json == {"balance": 1234}


def test_partial_reveal_reports_redactions_and_invents_nothing(test_server: notary.TestServer, backend: str) -> None:
    secret = SENT.index(b"Bearer ") + 7
    cookie = RECEIVED.index(b"session=")
    disclosure = notary.Disclosure(
        open_sent=[[(0, secret)], [(secret + 6, len(SENT))]],
        open_received=[[(0, cookie), (cookie + 11, len(RECEIVED))]],
        hidden_sent=[[(secret, secret + 6)]],
    )
    v = tlsn.verify_presentation(mint(test_server, disclosure=disclosure), policy(test_server), backend)
    sent, received = v.transcript.sent, v.transcript.received
    assert sent.authenticated == [(0, secret), (secret + 6, len(SENT))] and sent.redacted == [(secret, secret + 6)]
    assert received.redacted == [(cookie, cookie + 11)]
    assert [c.text for c in sent.revealed] == [SENT[:secret].decode(), SENT[secret + 6 :].decode()]
    # the hidden bytes themselves ("abc" alone turns up in hex ids and roots now and then)
    assert "s3cr3t" not in v.model_dump_json() and "session=abc" not in v.model_dump_json()
    assert sent.text is None and received.text is None  # no whole text with holes in it
    assert v.http.request is None and v.http.response is None


def test_partial_reveal_json_is_identical_in_both_backends(test_server: notary.TestServer) -> None:
    disclosure = notary.Disclosure(open_sent=[[(0, 10)], [(20, 30)]], open_received=[[(5, len(RECEIVED))]])
    p = mint(test_server, disclosure=disclosure)
    assert tlsn.verify_to_dict(p, policy(test_server), "native") == tlsn.verify_to_dict(p, policy(test_server), "wasm")


@pytest.mark.parametrize("alg", list(notary.SIG_ALGS))
@pytest.mark.parametrize("hash_alg", list(notary.HASH_ALGS))
def test_every_notary_signature_and_hash(test_server: notary.TestServer, backend: str, alg: str, hash_alg: str) -> None:
    n = notary.Notary(alg)
    v = tlsn.verify_presentation(mint(test_server, notary=n, hash_alg=hash_alg), policy(test_server, n), backend)
    assert v.notary.algorithm == alg and v.attestation.hash == hash_alg


@pytest.mark.parametrize("kx_alg", notary.KX_ALGS)
def test_every_server_signature(test_server: notary.TestServer, backend: str, kx_alg: str) -> None:
    if kx_alg.startswith("ecdsa"):
        server = test_server.with_leaf_key(
            ec.generate_private_key(ec.SECP384R1() if "p384" in kx_alg else ec.SECP256R1())
        )
    elif kx_alg == "ed25519":
        server = test_server.with_leaf_key(ed25519.Ed25519PrivateKey.generate())
    else:
        server = test_server
    v = tlsn.verify_presentation(mint(server, handshake=server.handshake(kx_alg)), policy(server), backend)
    assert v.server.name == "test-server.io"
    wrong = notary.KX_ALGS[(notary.KX_ALGS.index(kx_alg) + 1) % len(notary.KX_ALGS)]
    hs = server.handshake(kx_alg)
    hs.sig_alg = notary.KX_ALGS.index(wrong)  # the same signature, claimed as another algorithm
    with pytest.raises(errors.PresentationInvalid, match="identity"):
        tlsn.verify_presentation(mint(server, handshake=hs), policy(server), backend)


POLICY_CASES = {
    "untrusted notary": (
        {"notary_keys": (notary.Notary(secret=b"\x07" * 32).public_key.hex(),)},
        {},
        "policy: .* not trusted",
    ),
    "identity required": ({}, {"identity": False}, "no server identity proof"),
    "transcript required": ({}, {"transcript": False}, "no transcript proof"),
    "other server expected": ({"server_name": "example.com"}, {}, 'not "example.com"'),
    "session in the future": ({"now": TIME - 1}, {}, "later than now"),
    "session too old": ({"now": TIME + 3601, "max_age": 3600}, {}, "3601 s old"),
    "hash not allowed": ({"hash_algs": ("sha256",)}, {}, "uses blake3, which the policy does not allow"),
    "no roots": ({"roots": (), "mozilla_roots": False}, {}, "no chain to a trusted root"),
}


@pytest.mark.parametrize("case", POLICY_CASES)
def test_policy_checks(test_server: notary.TestServer, backend: str, case: str) -> None:
    policy_changes, mint_changes, message = POLICY_CASES[case]
    p = mint(test_server, **mint_changes)
    pol = policy(test_server).model_copy(update=policy_changes)
    with pytest.raises(errors.PresentationInvalid, match=message):
        tlsn.verify_presentation(p, pol, backend)


def test_relaxed_policy_accepts_a_bare_attestation(test_server: notary.TestServer) -> None:
    p = mint(test_server, identity=False, transcript=False)
    v = tlsn.verify_presentation(p, policy(test_server, require_identity=False, require_transcript=False))
    assert v.server is None and v.transcript is None and v.http is None and v.time == TIME


def test_a_policy_must_name_a_notary() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        tlsn.Policy(notary_keys=())
