"""Fixtures every test can use: its own LOOM_HOME, the upstream data in fixtures/, the built guests of the data dir,
and the session's real proofs (the mixed pipeline's hello receipt, the flagship's bundle). Helpers that are not
fixtures are in ``tests.support``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import zk
from pipeline.core import data_dir
from tests.support import FIXTURES, REPO, claim_input, keep_home, loom, reuse_home
from tests.support.mixed import MixedRun, receipt_bytes, run_mixed
from tests.support.proven import ProvenChain, ProvenRun, ProvenWasm, prove_chain, run_proven_claims, run_proven_wasm


@pytest.fixture(autouse=True)
def loom_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data dir per test, so no test sees another's registry, journal, blobs or module cache."""
    home = tmp_path_factory.mktemp("loom-home")
    monkeypatch.setenv("LOOM_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """Real upstream data (TLSNotary's presentation, handshakes, test PKI, HTTP messages): fixtures/ in this repo."""
    return FIXTURES


@pytest.fixture(scope="session")
def built() -> Path:
    """Loom's shipped files (`make` builds and links them): wasm/ (Rust activities), zkvm/ (RISC Zero ELFs),
    activities/ (AssemblyScript), wasi/ (WASI commands)."""
    path = data_dir()
    if not (path / "zkvm").is_dir():
        pytest.fail(f"{path} is missing: run `make setup` first")
    return path


@pytest.fixture(scope="session")
def hello() -> zk.Guest:
    return zk.load_guest("hello")


@pytest.fixture(scope="session")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> MixedRun:
    """The mixed pipeline, run once (see ``tests.support.mixed``): its proof is the session's real proof of hello.

    Run with RISC0_DEV_MODE=1 in the environment (the workers inherit it): Loom takes dev mode only from its explicit
    argument, so the proof is real all the same (the tests check it)."""
    home = tmp_path_factory.mktemp("mixed-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOOM_HOME", str(home))
        env.setenv("RISC0_DEV_MODE", "1")
        return run_mixed(home)


@pytest.fixture(scope="session")
def hello_receipt(mixed: MixedRun) -> zk.Receipt:
    """The session's one real composite receipt of hello (from the mixed run), for the tests that read or tamper
    with a receipt."""
    return zk.Receipt.from_bytes(receipt_bytes(mixed.bundle))


FLAGSHIP_TIMEOUT = 3600  # a real proof of the zkTLS claim takes ~11 minutes on 2 cores
CHAIN_TIMEOUT = 3600  # the first test to ask for the proven chain pays for the two claims' proofs and their chain


@pytest.fixture(scope="session")
def flagship_bundle(tmp_path_factory: pytest.TempPathFactory, fixtures: Path) -> Path:
    """The bundle of `loom run examples/notarized-claim.yaml` on TLSNotary's sample presentation, as `make demo`
    makes it: a real proof of the tlsn-claim guest (~11 minutes here).

    The run's data dir is kept under $LOOM_CACHE/test-homes: a later session runs the pipeline again on a copy of
    it, and Loom's own step cache serves the proof for as long as the guest, its input and its limits are unchanged
    (any change is a cache miss, and the guest is proven again). Everything else of the run, the bundle and its
    verification happen anew each time."""
    work = tmp_path_factory.mktemp("flagship")
    home, bundle = work / "home", work / "notarized-claim.bundle.json"
    reuse_home("notarized-claim", home)
    (work / "input.json").write_text(json.dumps(claim_input()))
    args = ("run", str(REPO / "examples" / "notarized-claim.yaml"), "--input", f"@{work / 'input.json'}")
    run = loom(*args, "--bundle", str(bundle), "--json", env={"LOOM_HOME": str(home)}, timeout=FLAGSHIP_TIMEOUT)
    if run.returncode != 0:
        pytest.fail(f"the flagship did not run: {run.stderr[-3000:]}")
    if json.loads(run.stdout)["executed"]:  # proven now: keep this data dir for the next session
        keep_home("notarized-claim", home)
    return bundle


@pytest.fixture(scope="session")
def proven_wasm(tmp_path_factory: pytest.TempPathFactory) -> ProvenWasm:
    """`loom run --bundle` of a pipeline whose one step is an AssemblyScript activity proven in the wasm-exec guest
    (see ``tests.support.proven``): a real proof, ~1M cycles. Its data dir is kept under $LOOM_CACHE/test-homes like
    the flagship's, so a later session's run is served the proof by Loom's step cache while nothing that makes it
    changes; the bundle and its checks are made anew each time."""
    return run_proven_wasm(tmp_path_factory.mktemp("proven-wasm"))


@pytest.fixture(scope="session")
def proven_claims(tmp_path_factory: pytest.TempPathFactory) -> ProvenRun:
    """`loom run --bundle` of two json-claim steps, the second over the first's journal (see ``tests.support.proven``):
    two small real proofs (2^17 segments), kept like the flagship's."""
    return run_proven_claims(tmp_path_factory.mktemp("proven-claims"))


@pytest.fixture(scope="session")
def proven_chain(proven_claims: ProvenRun) -> ProvenChain:
    """The proven claims' two steps proven as one chain: one succinct receipt (see ``tests.support.proven``)."""
    return prove_chain(proven_claims)


PROVING_FIXTURES = {
    "mixed", "hello_receipt", "flagship_bundle", "composed", "lost_a_node", "proven_wasm", "proven_claims",
    "proven_chain",
}  # fmt: skip
"""Fixtures that make a real proof (or reuse one that took minutes): a test that asks for one is slow, and says so."""


PROOF_TIMEOUT = 1800
"""The time a test may take when it is the first to ask for a proving fixture, whose minutes of proof count as the
test's own under pytest-timeout (the global 900 s is for everything else)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that makes a real proof carries the ``slow`` marker (``-m "not slow"`` skips them all), and the
    time its proving fixture needs (the first test to ask pays for the proof)."""
    unmarked = []
    for item in items:
        proving = PROVING_FIXTURES & set(getattr(item, "fixturenames", ()))
        if not proving:
            continue
        if item.get_closest_marker("slow") is None:
            unmarked.append(item.nodeid)
        if item.get_closest_marker("timeout") is None:
            needed = (
                CHAIN_TIMEOUT
                if "proven_chain" in proving
                else FLAGSHIP_TIMEOUT
                if "flagship_bundle" in proving
                else PROOF_TIMEOUT
            )
            item.add_marker(pytest.mark.timeout(needed))
    if unmarked:
        raise pytest.UsageError("tests that prove without the slow marker: " + ", ".join(unmarked))
