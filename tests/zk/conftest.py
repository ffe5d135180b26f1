"""One real composite proof of the `hello` guest, shared by every test that reads or tampers with it."""

from __future__ import annotations

import pytest

from pipeline import zk

HELLO_INPUT = {"words": [7, 35]}


@pytest.fixture(scope="session")
def hello() -> zk.Guest:
    return zk.load_guest("hello")


@pytest.fixture(scope="session")
def composite(hello: zk.Guest) -> zk.Proof:
    """One real composite proof, shared by the tests that only read or tamper with it.

    Made with RISC0_DEV_MODE=1 in the environment: Loom takes dev mode only from its explicit argument.
    """
    seen: list[tuple[str, int, int]] = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RISC0_DEV_MODE", "1")
        proof = zk.prove(hello.elf, HELLO_INPUT, progress=lambda *event: seen.append(event))
    assert seen[0] == ("segment", 0, proof.execution.segments)
    assert seen[-1] == ("segment", proof.execution.segments, proof.execution.segments)
    return proof
