#!/usr/bin/env bash
# `make demo`: the main job end to end with the real parts Loom has today. Register the shipped activities, run
# the http-claim pipeline (parse an HTTP response in wasm, pick a JSON field, prove a claim about the body in
# RISC Zero), run it again to show every step served from the cache, then verify the receipt on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
loom=.venv/bin/loom
export LOOM_HOME="${LOOM_HOME:-$PWD/.demo-home}"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Loom $($loom info --json | .venv/bin/python -c 'import json,sys; d=json.load(sys.stdin); print(d["loom"], "| risc0", d["native.risc0_zkvm"], "| wasmtime", d["wasmtime"], "| data in", d["loom_home"])')"
step "loom activity builtins   (register the activities make built)"
$loom activity builtins

step "loom run examples/http-claim.yaml   (a real RISC Zero proof: a minute or more on 2 cores)"
$loom run examples/http-claim.yaml --input @examples/http-claim.input.json

step "the same run again: every step is served from the cache"
$loom run examples/http-claim.yaml --input @examples/http-claim.input.json --json > "$LOOM_HOME/result.json"
.venv/bin/python -c 'import json,sys; r=json.load(open(sys.argv[1])); print("run", r["run_id"] + ":", r["status"] + ",", r["executed"], "executed,", r["cached"], "from cache")' "$LOOM_HOME/result.json"

step "loom runs show   (the journal of the first run above)"
$loom runs show "$($loom runs list --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[1]["run_id"])')"

step "loom zk verify   (anyone holding the receipt and the image ID can check the claim)"
read -r receipt image_id < <(.venv/bin/python -c 'import json,sys; o=json.load(open(sys.argv[1]))["output"]; print(o["receipt"], o["image_id"])' "$LOOM_HOME/result.json")
$loom zk verify "$LOOM_HOME/blobs/${receipt:0:2}/${receipt:2}" --image-id "$image_id"
