"""Real TLS handshakes captured from live servers (fixtures/tlsn/handshakes), wrapped in presentations by the test
notary: the chains, names, times and server signatures are real; only the notary is ours."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline import errors, tlsn
from tests.support import notary

SENT, RECEIVED = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 204 No Content\r\n\r\n"
TLSNOTARY_TIME = 1671637529  # the session of presentation.bin; the leaf is valid 2022-11-21 .. 2023-02-19
APPLIEDZKP_TIME = 1684000000  # 2023-05-13; the leaf is valid 2022-12-16 .. 2023-12-15


def present(handshake: notary.Handshake, name: str, time: int) -> bytes:
    return notary.notarize(SENT, RECEIVED, handshake=handshake, server_name=name, time=time)


def policy(fixtures: Path, *extra_roots: str) -> tlsn.Policy:
    roots = tuple((fixtures / "tlsn" / "handshakes" / r / "ca.der").read_bytes() for r in extra_roots)
    return tlsn.Policy(notary_keys=(notary.Notary().public_key.hex(),), roots=roots)


def test_tlsnotary_org_verifies(fixtures: Path, backend: str) -> None:
    hs = notary.captured_handshake(fixtures, "tlsnotary.org")
    v = tlsn.verify_presentation(present(hs, "tlsnotary.org", TLSNOTARY_TIME), policy(fixtures), backend)
    assert v.server.name == "tlsnotary.org" and v.server.signature == "RSA PKCS#1 SHA-256"


def test_appliedzkp_org_verifies_with_its_retired_root_added(fixtures: Path, backend: str) -> None:
    """Baltimore CyberTrust Root left Mozilla's store: without it the chain has no anchor."""
    hs = notary.captured_handshake(fixtures, "appliedzkp.org")
    p = present(hs, "appliedzkp.org", APPLIEDZKP_TIME)
    v = tlsn.verify_presentation(p, policy(fixtures, "appliedzkp.org"), backend)
    assert v.server.signature == "ECDSA P-256 SHA-256"
    with pytest.raises(errors.PresentationInvalid, match="no chain to a trusted root"):
        tlsn.verify_presentation(p, policy(fixtures), backend)


def _flip(data: bytes, at: int = 5) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


NEGATIVE = {
    "wrong time (after expiry)": (lambda hs: hs, "tlsnotary.org", 1700000000, "a certificate had expired"),
    "wrong time (before issue)": (lambda hs: hs, "tlsnotary.org", 1600000000, "not yet valid"),
    "wrong name": (lambda hs: hs, "badhost.com", TLSNOTARY_TIME, 'not valid for "badhost.com"'),
    "mutated client random": (
        lambda hs: replace(hs, client_random=_flip(hs.client_random)),
        "tlsnotary.org",
        TLSNOTARY_TIME,
        "signature over the key exchange does not verify",
    ),
    "mutated server random": (
        lambda hs: replace(hs, server_random=_flip(hs.server_random)),
        "tlsnotary.org",
        TLSNOTARY_TIME,
        "signature over the key exchange does not verify",
    ),
    "mutated signature": (
        lambda hs: replace(hs, sig=_flip(hs.sig, 100)),
        "tlsnotary.org",
        TLSNOTARY_TIME,
        "signature over the key exchange does not verify",
    ),
    "missing intermediate": (
        lambda hs: replace(hs, certs=hs.certs[:1]),
        "tlsnotary.org",
        TLSNOTARY_TIME,
        "no chain to a trusted root",
    ),
}


@pytest.mark.parametrize("case", NEGATIVE)
def test_tlsnotary_org_negative_cases(fixtures: Path, backend: str, case: str) -> None:
    change, name, time, message = NEGATIVE[case]
    hs = change(notary.captured_handshake(fixtures, "tlsnotary.org"))
    with pytest.raises(errors.PresentationInvalid, match=message):
        tlsn.verify_presentation(present(hs, name, time), policy(fixtures), backend)


def test_unknown_leaf_is_rejected(fixtures: Path, backend: str) -> None:
    """A self-made chain (fixtures/tlsn/handshakes/unknown): no trusted root issued it."""
    d = fixtures / "tlsn" / "handshakes" / "unknown"
    good = notary.captured_handshake(fixtures, "tlsnotary.org")
    hs = replace(good, certs=[(d / "ee.der").read_bytes(), (d / "ca.der").read_bytes()])
    with pytest.raises(errors.PresentationInvalid, match="no chain to a trusted root"):
        tlsn.verify_presentation(present(hs, "tlsnotary.org", TLSNOTARY_TIME), policy(fixtures), backend)
