#!/usr/bin/env bash
# Issue 33: risc0-zkvm 3.0.6 (the stable line) beside Loom's 5.0.0-rc.1, on this machine, each proof alone.
# Builds Loom's tlsn-claim and sha-chain guests (sources unchanged) against 3.0.6 and a host on 3.0.6 (host/), then
# executes and proves the same inputs with both: 5.0.0-rc.1 through benches/risc0-host (risc0-host-bench, built by
# `make setup`), 3.0.6 through risc0-v3-host. Prints one JSON line per measurement and writes them to
# build/risc0-v3/results.jsonl. Needs `make setup` first. Usage: benches/risc0-v3/run.sh [build|execute|prove]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${LOOM_CACHE:-$HOME/.cache/loom}"
out="$repo/build/risc0-v3"
py="$repo/.venv/bin/python"
host5="$cache/target/native/release/risc0-host-bench"
host3="$cache/target/risc0-v3/release/risc0-v3-host"
what=${1:-all}
mkdir -p "$out"
join() { local IFS=$'\x1f'; echo "$*"; }

build() {
  bash "$repo/scripts/patch-risc0.sh" 4.0.5 "$here/patched" \
    risc0-circuit-recursion-control-zkrs@4.0.6-rc.1 risc0-circuit-recursion-zkrs@4.0.6-rc.1
  echo "==> tlsn-claim and sha-chain against risc0-zkvm 3.0.6"
  for name in tlsn-claim sha-chain; do  # the flags of scripts/build-guests.sh, one guest per cargo invocation
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$cache/target/zkvm-v3" \
    CARGO_TARGET_RISCV32IM_RISC0_ZKVM_ELF_LINKER=ld.lld-16 RISC0_FEATURE_bigint2="" \
    CARGO_ENCODED_RUSTFLAGS="$(join -C passes=lower-atomic -C link-arg=-Ttext=0x00200800 -C link-arg=--fatal-warnings \
      -C panic=abort --cfg 'getrandom_backend="custom"' --remap-path-prefix="$repo=/loom")" \
      /usr/bin/cargo build --quiet --locked --release --manifest-path "$here/guests/Cargo.toml" -p "$name" \
        --target riscv32im-risc0-zkvm-elf -Zbuild-std=alloc,core,proc_macro,panic_abort,std \
        -Zbuild-std-features=compiler-builtins-mem
    cp -p "$cache/target/zkvm-v3/riscv32im-risc0-zkvm-elf/release/$name" "$out/$name-3.0.6.elf"
  done
  echo "==> risc0-v3-host (cargo build --release)"
  env -u RUSTFLAGS CARGO_TARGET_DIR="$cache/target/risc0-v3" \
    cargo build --quiet --locked --release --manifest-path "$here/host/Cargo.toml"
  [ -x "$host5" ] || { echo "run.sh: $host5 is missing: run make setup first" >&2; exit 1; }
  "$py" - "$out" <<'PY'
import sys
from pathlib import Path
from pipeline import tlsn, zk
from pipeline.core import SAMPLE_NOTARY_KEY, SAMPLE_PRESENTATION, artifact
out = Path(sys.argv[1])
policy = tlsn.Policy(notary_keys=(SAMPLE_NOTARY_KEY,))
claim = tlsn.JsonClaim(path="bazz", op="eq", value=123)
(out / "tlsn-claim.input").write_bytes(tlsn.claim_request(artifact(SAMPLE_PRESENTATION).read_bytes(), policy, claim))
for rounds in (100, 1000):
    (out / f"sha-chain-{rounds}.input").write_bytes(zk.encode_input({"rounds": rounds, "seed": "loom"}))
for name in ("tlsn-claim", "sha-chain"):
    (out / f"{name}-5.0.0-rc.1.elf").write_bytes(zk.load_guest(name).elf)
PY
}

measure() {  # VERSION KIND(execute|composite|succinct) GUEST INPUT PO2
  local version=$1 kind=$2 guest=$3 input=$4 po2=$5 line rss
  local elf="$out/$guest-$version.elf"
  if [ "$version" = 3.0.6 ]; then
    if [ "$kind" = execute ]; then line=$("$host3" execute "$elf" "$out/$input" "$po2")
    else line=$(/usr/bin/time -f %M -o "$out/rss" "$host3" prove "$elf" "$out/$input" "$kind" "$po2" "$out/$guest-$kind-$po2.receipt"); fi
  else
    if [ "$kind" = execute ]; then
      line=$("$py" -c "import json, sys; from pipeline import _native; e = _native.execute(open(sys.argv[1], 'rb').read(), \
open(sys.argv[2], 'rb').read(), segment_limit_po2=int(sys.argv[3])); print(json.dumps({'user_cycles': e.user_cycles, \
'paging_cycles': e.paging_cycles, 'total_cycles': e.total_cycles, 'segments': e.segments}))" "$elf" "$out/$input" "$po2")
    else line=$(/usr/bin/time -f %M -o "$out/rss" "$host5" prove "$elf" "$out/$input" "$kind" "$po2" 1); fi
  fi
  rss=$([ "$kind" = execute ] && echo null || echo $(( $(tail -1 "$out/rss") / 1024 )))
  line="{\"risc0\":\"$version\",\"kind\":\"$kind\",\"guest\":\"$guest\",\"input\":\"$input\",\"po2\":$po2,\"process_peak_rss_mib\":$rss,\"result\":$line}"
  echo "$line" | tee -a "$out/results.jsonl"
}

case $what in
  build) build ;;
  execute|all)
    [ "$what" = all ] && build
    for v in 5.0.0-rc.1 3.0.6; do
      for po2 in 18 19 20; do measure $v execute tlsn-claim tlsn-claim.input $po2; done
      for r in 100 1000; do measure $v execute sha-chain sha-chain-$r.input 20; done
    done
    [ "$what" = all ] || exit 0 ;&
  prove)
    for po2 in 19 20; do for v in 5.0.0-rc.1 3.0.6; do measure $v composite tlsn-claim tlsn-claim.input $po2; done; done
    for v in 5.0.0-rc.1 3.0.6; do measure $v succinct tlsn-claim tlsn-claim.input 20; done
    for v in 5.0.0-rc.1 3.0.6; do measure $v composite sha-chain sha-chain-1000.input 20; done ;;
  *) echo "usage: run.sh [build|execute|prove|all]" >&2; exit 2 ;;
esac
