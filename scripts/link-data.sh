#!/usr/bin/env bash
# Fills pipeline/_data, the package data Loom finds through importlib.resources, with links to the files it ships:
# build/ (where make builds the activities and guests), the image-id lock, the benchmark suites and TLSNotary's
# sample presentation. Links keep a checkout current as files are rebuilt or edited; `maturin build` copies
# their contents into the wheel.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$repo/pipeline/_data"
sample="$repo/fixtures/tlsn/presentation.bin"

rm -rf "$data"
link() {  # link FILE... into $data/DIR
  local dir="$data/$1"; shift
  mkdir -p "$dir"
  for file in "$@"; do
    [[ -f "$file" ]] || { echo "link-data: $file is missing (build it first: make setup)" >&2; exit 1; }
    ln -s "$(realpath --relative-to="$dir" "$file")" "$dir/"
  done
}
link activities "$repo"/build/activities/*.wasm
link wasm "$repo"/build/wasm/*.wasm
link wasi "$repo"/build/wasi/*.wasm
link zkvm "$repo"/build/zkvm/*.elf "$repo/rust-guests/zkvm/image-ids.json"
link benches "$repo"/benches/*.py
link samples "$sample"
echo "    pipeline/_data: $(find "$data" -type l | wc -l) shipped files linked"
