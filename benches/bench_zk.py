"""Proving ``sha-chain`` through Loom's Python API vs risc0-zkvm's Rust host API (benches/risc0-host), same ELF
and input, in one run. Goal: Python/Rust <= 1.02, i.e. the Python layer adds nothing. Also cycles/s by segment
size and each side's peak memory.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import sys
import time
from pathlib import Path

import pytest
import yaml
from _support import HOST_BIN, peak_rss_mib, rounds_filling, rounds_for, sha_chain

from pipeline import zk
from pipeline.core import risc0_host_binary
from pipeline.zk import SEGMENT_MEMORY_MIB

ROUNDS = 1  # a 2^17-cycle segment takes over a minute on this 2-core CPU: one proof per side per case

# (SHA-256 rounds, segment po2): one 2^17 segment; 2^18 cycles as two 2^17 segments and as one 2^18 segment.
CASES = [(1, 17)] if os.environ.get("LOOM_BENCH_QUICK") else [(1, 17), (20, 17), (20, 18)]


@pytest.fixture(scope="session")
def host_bin() -> Path:
    """The Rust reference binary (`make setup` builds it in the native workspace, sharing the risc0 crates); an
    installed wheel has none, and the comparisons with it are skipped."""
    if not HOST_BIN.is_file():
        pytest.skip(f"needs risc0's Rust host {HOST_BIN}: `make setup` builds it in a source checkout")
    return HOST_BIN


@pytest.mark.parametrize(("rounds", "po2"), CASES, ids=[f"rounds{r}-po2_{p}" for r, p in CASES])
def test_prove_python_vs_rust(benchmark, host_bin: Path, tmp_path: Path, rounds: int, po2: int) -> None:
    guest = zk.load_guest("sha-chain")
    document = sha_chain(rounds)
    input_file = tmp_path / "input.json"
    input_file.write_bytes(zk.encode_input(document))

    rust_peak, out = peak_rss_mib(
        [str(host_bin), "prove", str(guest.path), str(input_file), "composite", str(po2), str(ROUNDS)]
    )
    rust = [json.loads(line) for line in out.splitlines()]
    rust_mean = statistics.mean(r["seconds"] for r in rust)

    proof = benchmark.pedantic(
        zk.prove, args=(guest.elf, document), kwargs={"segment_limit_po2": po2}, rounds=ROUNDS, iterations=1
    )
    py_mean = benchmark.stats.stats.mean
    assert proof.execution.total_cycles == rust[0]["total_cycles"]  # the same work on both sides

    py_peak = float("nan")
    if (rounds, po2) == CASES[0]:  # one more proof, in a process of its own, for Python's peak memory
        py_peak, _ = peak_rss_mib(
            [
                sys.executable,
                "-c",
                (
                    "from pipeline import zk; g = zk.load_guest('sha-chain'); "
                    f"zk.prove(g.elf, {document!r}, segment_limit_po2={po2})"
                ),
            ]
        )

    cycles = proof.execution.total_cycles
    benchmark.extra_info.update(
        {
            "rounds": rounds,
            "segment_po2": po2,
            "segments": proof.execution.segments,
            "total_cycles": cycles,
            "rust_mean_s": rust_mean,
            "python_mean_s": py_mean,
            "ratio_python_over_rust": py_mean / rust_mean,
            "python_cycles_per_s": cycles / py_mean,
            "rust_cycles_per_s": cycles / rust_mean,
            "python_peak_rss_mib": py_peak,
            "rust_peak_rss_mib": rust_peak,
            "seal_size": proof.receipt.seal_size,
        }
    )
    print(
        f"\nsha-chain rounds={rounds} po2={po2}: {cycles} cycles, {proof.execution.segments} segments; "
        f"python {py_mean:.2f}s vs rust {rust_mean:.2f}s = {py_mean / rust_mean:.3f}x; "
        f"peak RSS python {py_peak:.0f} MiB, rust {rust_peak:.0f} MiB"
    )


def test_verify_composite(benchmark) -> None:
    """Verification cost of a composite receipt (what every consumer of a receipt pays)."""
    guest = zk.load_guest("sha-chain")
    receipt = zk.prove(guest.elf, sha_chain(1)).receipt
    data = receipt.to_bytes()
    benchmark(zk.verify, data, guest.image_id)
    benchmark.extra_info.update({"seal_size": receipt.seal_size, "receipt_bytes": len(data)})


# Receipt kinds side by side: composite vs succinct of the same execution (1, 2 and 4 segments at 2^17).
KIND_CASES = [1] if os.environ.get("LOOM_BENCH_QUICK") else [1, 2, 4]


@pytest.mark.parametrize("segments", KIND_CASES, ids=[f"segments{n}-po2_17" for n in KIND_CASES])
def test_composite_vs_succinct(benchmark, segments: int) -> None:
    """Proof time, receipt bytes and verification time of both kinds, same guest and input, one run. The succinct
    proof is timed whole (segments, lifts, joins); its extra cost over composite is the recursion."""
    guest = zk.load_guest("sha-chain")
    document = sha_chain(rounds_for(segments, 17))
    t0 = time.monotonic()
    composite = zk.prove(guest.elf, document, segment_limit_po2=17)
    composite_s = time.monotonic() - t0
    succinct = benchmark.pedantic(
        zk.prove,
        args=(guest.elf, document),
        kwargs={"segment_limit_po2": 17, "kind": "succinct"},
        rounds=1,
        iterations=1,
    )
    succinct_s = benchmark.stats.stats.mean
    verify = {}
    for name, proof in (("composite", composite), ("succinct", succinct)):
        data = proof.receipt.to_bytes()
        t0 = time.monotonic()
        for _ in range(5):
            zk.verify(data, guest.image_id)
        verify[name] = ((time.monotonic() - t0) / 5, len(data))
    assert composite.execution.segments == succinct.execution.segments == segments
    benchmark.extra_info.update(
        {
            "segments": segments,
            "rounds": document["rounds"],
            "composite_prove_s": composite_s,
            "succinct_prove_s": succinct_s,
            "ratio_succinct_over_composite": succinct_s / composite_s,
            "composite_receipt_bytes": verify["composite"][1],
            "succinct_receipt_bytes": verify["succinct"][1],
            "composite_verify_s": verify["composite"][0],
            "succinct_verify_s": verify["succinct"][0],
        }
    )
    print(
        f"\n{segments} segment(s) at 2^17: composite {composite_s:.0f}s {verify['composite'][1]:,} B "
        f"verify {verify['composite'][0] * 1000:.1f} ms | succinct {succinct_s:.0f}s {verify['succinct'][1]:,} B "
        f"verify {verify['succinct'][0] * 1000:.1f} ms | time ratio {succinct_s / composite_s:.2f}"
    )


# One full segment per size: the time and memory curve the default segment size and the cluster's memory requests
# are chosen from (models.SEGMENT_MEMORY_MIB). 2^20 needs ~12 GiB and ~10 minutes here.
SEGMENT_PO2S = [16, 17] if os.environ.get("LOOM_BENCH_QUICK") else [16, 17, 18, 19, 20]


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("po2", SEGMENT_PO2S, ids=[f"po2_{p}" for p in SEGMENT_PO2S])
def test_one_segment(benchmark, po2: int) -> None:
    """One segment of 2^po2 cycles proven in a process of its own: its wall time and peak RSS. Fails if the peak
    outgrows the memory Loom budgets for the size (the table must then be measured again)."""
    rounds = rounds_filling(po2)
    script = (
        "import json, time; from pipeline import zk; g = zk.load_guest('sha-chain'); t0 = time.monotonic(); "
        f"zk.prove(g.elf, {sha_chain(rounds)!r}, segment_limit_po2={po2}); "
        "print(json.dumps({'prove_s': time.monotonic() - t0}))"
    )
    measured: dict[str, float] = {}

    def prove() -> None:
        peak, out = peak_rss_mib([sys.executable, "-c", script])
        measured.update(json.loads(out), peak_rss_mib=peak)

    benchmark.pedantic(prove, rounds=1, iterations=1)
    benchmark.extra_info.update(
        {"segment_po2": po2, "rounds": rounds, "model_mib": SEGMENT_MEMORY_MIB[po2], **measured}
    )
    print(f"\none segment of 2^{po2}: {measured['prove_s']:.1f}s, peak RSS {measured['peak_rss_mib']:,.0f} MiB")
    assert measured["peak_rss_mib"] <= SEGMENT_MEMORY_MIB[po2], "models.SEGMENT_MEMORY_MIB is below the measured peak"


CPU_PO2 = 17 if os.environ.get("LOOM_BENCH_QUICK") else 18


def test_prove_native_cpu_vs_baseline(benchmark, tmp_path: Path) -> None:
    """One full 2^18 segment (2^17 with --quick) of sha-chain proven by risc0's Rust host built for baseline x86-64
    and for this CPU (`make CPU=native`: rustc's `-C target-cpu=native`, and `-march=native` for risc0's C++ kernels
    through CXXFLAGS, since the cc crate does not derive it), one after the other: cycles/s of each and their ratio,
    the figure behind the Makefile's default CPU."""
    hosts = {cpu: risc0_host_binary(cpu) for cpu in ("x86-64", "native")}
    for cpu, path in hosts.items():
        if not path.is_file():
            pytest.skip(f"needs risc0's Rust host built for CPU {cpu} ({path}): `make bench` builds it")
    guest = zk.load_guest("sha-chain")
    input_file = tmp_path / "input.json"
    input_file.write_bytes(zk.encode_input(sha_chain(rounds_filling(CPU_PO2))))

    def prove(cpu: str) -> dict[str, float]:
        _, out = peak_rss_mib(
            [str(hosts[cpu]), "prove", str(guest.path), str(input_file), "composite", str(CPU_PO2), "1"]
        )
        return json.loads(out)

    baseline = prove("x86-64")
    native = benchmark.pedantic(prove, args=("native",), rounds=1, iterations=1)
    assert native["total_cycles"] == baseline["total_cycles"] == 2**CPU_PO2
    benchmark.extra_info.update(
        {
            "segment_po2": CPU_PO2,
            "baseline_s": baseline["seconds"],
            "native_cpu_s": native["seconds"],
            "baseline_cycles_per_s": 2**CPU_PO2 / baseline["seconds"],
            "native_cpu_cycles_per_s": 2**CPU_PO2 / native["seconds"],
            "ratio_native_cpu_over_baseline": baseline["seconds"] / native["seconds"],
        }
    )
    print(
        f"\nsha-chain 2^{CPU_PO2}: baseline x86-64 {baseline['seconds']:.1f}s "
        f"({2**CPU_PO2 / baseline['seconds']:,.0f} cycles/s), native CPU {native['seconds']:.1f}s "
        f"({2**CPU_PO2 / native['seconds']:,.0f} cycles/s): "
        f"{baseline['seconds'] / native['seconds']:.3f}x"
    )


# Wasm activities in the zkVM (the wasm-exec guest: wasmi inside RISC Zero), executed, not proven: what a proof of
# each would cost, in cycles, beside what wasmtime takes on the host. json-pick is compared with json-claim, the native
# Rust guest that parses the same document and picks the same value (serde_json).
WASM_CASES = {
    "json-pick": {"document": {"price": {"usd": 123.45, "eur": 113.9}, "name": "Zoë"}, "paths": ["price.usd"]},
    "redact": {"document": {"user": {"email": "a@b.c", "name": "Zoë"}, "token": "t"}, "paths": ["token"]},
    "http-parse": {
        "message": 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"a": 1}\n'
    },
    "echo": {"hello": "wörld", "n": [1, 2, 3]},
}


@pytest.mark.parametrize("name", list(WASM_CASES))
def test_wasm_activity_in_the_zkvm(benchmark, name: str, tmp_path: Path) -> None:
    """Cycles (user, paging, segments at 2^20) of one call of a shipped activity in wasm-exec, the wasm fuel it
    used, and the time of executing it (not proving) against one wasmtime call of the same module and input."""
    from pipeline.activities import execute_proven_wasm, resolve
    from pipeline.sandbox import WasmExecutor
    from pipeline.store import ActivityRegistry, FileBlobStore

    blobs, registry = FileBlobStore(tmp_path / "blobs"), ActivityRegistry(tmp_path / "registry.sqlite")
    defn, document = resolve(registry, blobs, name), WASM_CASES[name]
    executor = WasmExecutor(blobs, cache_dir=tmp_path / "modules")
    executor.run(defn, document)  # compiled once, as a warm executor would have it
    t0 = time.monotonic()
    for _ in range(20):
        wasmtime_output = executor.run(defn, document)
    wasmtime_s = (time.monotonic() - t0) / 20
    run, execution = benchmark.pedantic(execute_proven_wasm, args=(defn, document, blobs), rounds=3, iterations=1)
    assert run.output == wasmtime_output
    info = {
        "module_kib": len(blobs.get(defn.blob)) / 1024,
        "fuel_used": run.fuel_used,
        "user_cycles": execution.user_cycles,
        "paging_cycles": execution.paging_cycles,
        "total_cycles": execution.total_cycles,
        "segments_po2_20": execution.segments,
        "cycles_per_fuel": execution.user_cycles / run.fuel_used,
        "wasmtime_call_s": wasmtime_s,
        "ratio_zkvm_execute_over_wasmtime": benchmark.stats.stats.mean / wasmtime_s,
    }
    if name == "json-pick":  # the same pick by a native guest
        claim = {"document": json.dumps(document["document"]), "claim": {"path": "price.usd", "op": "exists"}}
        native = zk.execute(zk.load_guest("json-claim").elf, claim)
        info |= {"native_guest_total_cycles": native.total_cycles,
                 "ratio_wasm_over_native_guest": execution.total_cycles / native.total_cycles}  # fmt: skip
    benchmark.extra_info.update(info)
    print(f"\n{name} in wasm-exec: " + ", ".join(f"{k} {v:,.2f}" if isinstance(v, float) else f"{k} {v:,}"
                                                  for k, v in info.items()))  # fmt: skip


def _rust_abi_module(dead_functions: int) -> bytes:
    """The smallest Rust-ABI module (``run`` returns its input), with ``dead_functions`` functions never called."""
    import wasmtime

    body = "".join(
        f"(local.set 0 (i32.add (i32.mul (local.get 0) (i32.const {k + 3})) (i32.const {k})))" for k in range(20)
    )
    dead = "".join(
        f"(func (param i32) (result i32) {body} (i32.add (local.get 0) (i32.const {n})))" for n in range(dead_functions)
    )
    return wasmtime.wat2wasm(
        '(module (memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) i32.const 1024) '
        '(func (export "dealloc") (param i32 i32)) (func (export "run") (param i32 i32) (result i64) '
        "(i64.or (i64.shl (i64.extend_i32_u (local.get 0)) (i64.const 32)) (i64.extend_i32_u (local.get 1)))) "
        f"{dead})"
    )


def test_wasm_module_startup_per_kib(benchmark) -> None:
    """wasmi's cost of taking in a module in the zkVM (parsing and validating it; a function is translated when it
    is first called), per KiB: the smallest module against the same with ~64 KiB of functions (of ~140 bytes, about
    those of Loom's activities) never called. Hashing the module (SHA-256, in software on this circuit) is part of
    it: the journal names the module by its digest."""
    elf = zk.load_guest(zk.WASM_GUEST).elf

    def cycles(module: bytes) -> zk.Execution:
        stdin = zk.wasm_input(module, zk.WasmAbi.rust, b"{}", fuel=10**6, memory_bytes=1 << 20, output_bytes=1 << 20)
        return zk.execute(elf, stdin)

    small, large = _rust_abi_module(0), _rust_abi_module(460)
    base = cycles(small)
    grown = benchmark.pedantic(cycles, args=(large,), rounds=3, iterations=1)
    kib = (len(large) - len(small)) / 1024
    per_kib = (grown.user_cycles - base.user_cycles) / kib
    benchmark.extra_info.update(
        {
            "smallest_module_bytes": len(small),
            "smallest_total_cycles": base.total_cycles,
            "smallest_user_cycles": base.user_cycles,
            "smallest_paging_cycles": base.paging_cycles,
            "large_module_kib": len(large) / 1024,
            "user_cycles_per_module_kib": per_kib,
        }
    )
    print(f"\nwasm-exec: smallest module {base.total_cycles:,} cycles ({base.paging_cycles:,} paging); "
          f"{per_kib:,.0f} user cycles per KiB of module")  # fmt: skip


CHAIN_OVER_WASM = {
    "name": "chain-over-wasm",
    "steps": {
        "echo": {
            "activity": "echo-wat@1.0.0",
            "input": {"quote": "${input.quote}"},
            "prove": {"kind": "composite", "segment_po2": 18},
        },
        "claim": {
            "activity": "json-claim",
            "input": {
                "document": "${steps.echo.output.journal.output}",
                "claim": {"path": "quote.price", "op": "gt", "value": "${input.floor}"},
            },
            "prove": {"kind": "composite", "segment_po2": 17},
        },
    },
    "output": {
        "above_floor": "${steps.claim.output.journal.holds}",
        "module": "${steps.echo.output.journal.module_sha256}",
    },
}


@pytest.mark.skipif(bool(os.environ.get("LOOM_BENCH_QUICK")), reason="three real proofs take ~45 min")
@pytest.mark.timeout(7200)  # beyond the suite-wide 900 s
def test_chain_over_a_wasm_step(benchmark, tmp_path: Path) -> None:
    """A wasm step (the smallest Rust-ABI module, proven in wasm-exec) and a json-claim step over its journal,
    proven with `loom run --bundle`, then chained into one succinct receipt with `loom runs bundle --chain`, each
    in a process of its own: the run's and the chain's time and peak RSS, and the chain bundle verified alone (the
    chain's journal names the module). CI chains two json-claim steps instead (tests/results/test_chain_proof.py)."""
    loom, env = str(Path(sys.executable).with_name("loom")), {**os.environ, "LOOM_HOME": str(tmp_path / "home")}
    (tmp_path / "echo.wasm").write_bytes(_rust_abi_module(0))
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(CHAIN_OVER_WASM))
    (tmp_path / "input.json").write_text(json.dumps({"quote": {"price": 3125.5, "pair": "ETH/USD"}, "floor": 3000}))
    peak_rss_mib([loom, "activity", "register", str(tmp_path / "echo.wasm"), "--name", "echo-wat",
                  "--version", "1.0.0", "--runtime", "wasm", "--json"], env)  # fmt: skip
    t0 = time.monotonic()
    run_mib, out = peak_rss_mib([loom, "run", str(tmp_path / "spec.yaml"), "--input", f"@{tmp_path / 'input.json'}",
                                 "--bundle", str(tmp_path / "steps.json"), "--json"], env)  # fmt: skip
    run_s, run_id = time.monotonic() - t0, json.loads(out)["run_id"]
    timing: dict[str, float] = {}

    def chain() -> None:
        t1 = time.monotonic()
        timing["mib"], _ = peak_rss_mib([loom, "runs", "bundle", run_id, "--chain", "--out",
                                         str(tmp_path / "chain.json")], env)  # fmt: skip
        timing["s"] = time.monotonic() - t1

    benchmark.pedantic(chain, rounds=1, iterations=1)
    alone = {**env, "LOOM_HOME": str(tmp_path / "empty")}  # the bundle verified with nothing but itself
    _, checked = peak_rss_mib([loom, "verify", str(tmp_path / "chain.json"), "--require-proven", "above_floor",
                               "--require-proven", "module", "--json"], alone)  # fmt: skip
    report = json.loads(checked)
    assert report["chain"]["verified"] and report["chain"]["steps"] == ["echo", "claim"]
    chain_bundle = json.loads((tmp_path / "chain.json").read_bytes())
    receipt = zk.Receipt.from_bytes(base64.b64decode(chain_bundle["chain"]["receipt"]))
    benchmark.extra_info.update(
        {
            "run_prove_s": run_s,
            "run_peak_rss_mib": run_mib,
            "chain_prove_s": timing["s"],
            "chain_peak_rss_mib": timing["mib"],
            "chain_receipt_bytes": len(receipt.to_bytes()),
        }
    )
    print(f"\nchain over a wasm step: run (2 composite proofs) {run_s:.0f}s {run_mib:,.0f} MiB | chain (succinct) "
          f"{timing['s']:.0f}s {timing['mib']:,.0f} MiB, {len(receipt.to_bytes()):,} B")  # fmt: skip
