#!/usr/bin/env bash
# `make demo`: the main job end to end. Verify TLSNotary's sample presentation on its own; read fields from it with
# the quick start (every value host: nothing proves them); run the flagship, which proves in RISC Zero that the
# presentation verifies and what its response says, and writes a bundle; run it again (served from the cache);
# then, as the recipient would, verify the bundle in a fresh data dir, and see a tampered copy refused.
set -euo pipefail
cd "$(dirname "$0")/.."
loom=.venv/bin/loom
export LOOM_HOME="${LOOM_HOME:-$PWD/.demo-home}"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
python=.venv/bin/python

step "Loom $($loom info --json | $python -c 'import json,sys; d=json.load(sys.stdin); print(d["loom"], "| risc0", d["native.risc0_zkvm"], "| wasmtime", d["wasmtime"], "| data in", d["loom_home"])')"
presentation=fixtures/tlsn/presentation.bin
notary_key=035be5e9478209674a96e60f1f037f6176540fd001fa1d64694770c56a7709c42c
step "loom tlsn verify $presentation   (TLSNotary's sample presentation)"
$loom tlsn verify "$presentation" --notary-key "$notary_key" --server tlsnotary.org

input="$LOOM_HOME/notarized-claim.input.json"
$python - "$presentation" "$notary_key" > "$input" <<'PY'
import base64, json, sys
presentation, key = open(sys.argv[1], "rb").read(), sys.argv[2]
print(json.dumps({"presentation": base64.b64encode(presentation).decode(), "notary_key": key,
                  "server": "tlsnotary.org", "path": "bazz", "op": "eq", "value": 123, "paths": ["bazz"]}))
PY
step "loom run examples/notarized-fields.yaml   (the quick start: read in the sandbox, proven by nothing)"
$loom run examples/notarized-fields.yaml --input @"$input"

bundle="$LOOM_HOME/notarized-claim.bundle.json"
step "loom run examples/notarized-claim.yaml --bundle   (a real RISC Zero proof: about 14 minutes on 2 cores)"
$loom run examples/notarized-claim.yaml --input @"$input" --bundle "$bundle"

step "the same run again: the proof is served from the cache"
$loom run examples/notarized-claim.yaml --input @"$input" --json > "$LOOM_HOME/result.json"
$python -c 'import json,sys; r=json.load(open(sys.argv[1])); print("run", r["run_id"] + ":", r["status"] + ",", r["executed"], "executed,", r["cached"], "from cache")' "$LOOM_HOME/result.json"

step "loom runs show   (the journal of the flagship's first run)"
$loom runs show "$($loom runs list --json | $python -c 'import json,sys; print(json.load(sys.stdin)[1]["run_id"])')"

fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
step "loom verify   (the recipient: a fresh data dir, nothing but the bundle and the image IDs Loom ships)"
LOOM_HOME="$fresh" $loom verify "$bundle" \
  --require-proven server --require-proven notary_key --require-proven session_time \
  --require-proven claim --require-proven holds --require-proven value

step "loom verify of a tampered copy   (the value changed from 123 to 124: refused)"
tampered="$LOOM_HOME/tampered.bundle.json"
$python - "$bundle" "$tampered" <<'PY'
import json, sys
bundle = json.load(open(sys.argv[1]))
bundle["output"]["value"] = 124
json.dump(bundle, open(sys.argv[2], "w"))
PY
if LOOM_HOME="$fresh" $loom verify "$tampered"; then
  echo "demo: the tampered bundle verified: that is a bug" >&2
  exit 1
fi
echo "(refused, as it must be: exit 1)"
