#!/usr/bin/env bash
# `make demo`: the main job end to end. Verify TLSNotary's golden presentation on its own, run the flagship
# notarized-claim pipeline on it with no registration step (verify the presentation in the wasm
# sandbox, parse the HTTP response, pick a JSON field, prove a claim about the body in RISC Zero), run it again to show every step
# served from the cache, then verify the receipt on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
loom=.venv/bin/loom
export LOOM_HOME="${LOOM_HOME:-$PWD/.demo-home}"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Loom $($loom info --json | .venv/bin/python -c 'import json,sys; d=json.load(sys.stdin); print(d["loom"], "| risc0", d["native.risc0_zkvm"], "| wasmtime", d["wasmtime"], "| data in", d["loom_home"])')"
presentation=../shared/fixtures/tlsn/presentation.bin
notary_key=035be5e9478209674a96e60f1f037f6176540fd001fa1d64694770c56a7709c42c
step "loom tlsn verify $presentation   (TLSNotary's golden presentation)"
$loom tlsn verify "$presentation" --notary-key "$notary_key" --server tlsnotary.org

input="$LOOM_HOME/notarized-claim.input.json"
.venv/bin/python - "$presentation" "$notary_key" > "$input" <<'PY'
import base64, json, sys
presentation, key = open(sys.argv[1], "rb").read(), sys.argv[2]
print(json.dumps({"presentation": base64.b64encode(presentation).decode(), "notary_key": key,
                  "server": "tlsnotary.org", "path": "bazz", "op": "eq", "value": 123}))
PY
step "loom run examples/notarized-claim.yaml   (a real RISC Zero proof: a minute or more on 2 cores)"
$loom run examples/notarized-claim.yaml --input @"$input"

step "the same run again: every step is served from the cache"
$loom run examples/notarized-claim.yaml --input @"$input" --json > "$LOOM_HOME/result.json"
.venv/bin/python -c 'import json,sys; r=json.load(open(sys.argv[1])); print("run", r["run_id"] + ":", r["status"] + ",", r["executed"], "executed,", r["cached"], "from cache"); print(json.dumps(r["output"], indent=2))' "$LOOM_HOME/result.json"

step "loom runs show   (the journal of the first run above)"
$loom runs show "$($loom runs list --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[1]["run_id"])')"

step "loom zk verify   (anyone holding the receipt and the image ID can check the claim)"
read -r receipt image_id < <(.venv/bin/python -c 'import json,sys; o=json.load(open(sys.argv[1]))["output"]; print(o["receipt"], o["image_id"])' "$LOOM_HOME/result.json")
$loom zk verify "$LOOM_HOME/blobs/${receipt:0:2}/${receipt:2}" --image-id "$image_id"
