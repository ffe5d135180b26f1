"""Fixtures for the TLSNotary tests: the golden presentation, its notary key, and the test notary's servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import tlsn
from tests.support import notary

GOLDEN_NOTARY_KEY = "035be5e9478209674a96e60f1f037f6176540fd001fa1d64694770c56a7709c42c"
GOLDEN_TIME = 1671637529
BACKENDS = ["native", "wasm"]


@pytest.fixture(scope="session")
def golden(fixtures: Path, built: Path) -> bytes:
    return (fixtures / "tlsn" / "presentation.bin").read_bytes()


@pytest.fixture(scope="session")
def golden_policy() -> tlsn.Policy:
    return tlsn.Policy(notary_keys=(GOLDEN_NOTARY_KEY,))


@pytest.fixture(scope="session")
def test_server(fixtures: Path) -> notary.TestServer:
    return notary.TestServer.load(fixtures)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param
