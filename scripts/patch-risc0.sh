#!/usr/bin/env bash
# risc0-circuit-recursion 5.0.0-rc.1's build script downloads an archive of recursion programs (join, resolve,
# identity, ...) from the internet, which this machine cannot reach. This makes a copy of the crate under
# $LOOM_CACHE/patched whose build script writes an empty archive instead, and links native/patched to it for the
# `[patch.crates-io]` entry in native/Cargo.toml. (A link, so that every clone reuses one compiled copy: cargo
# hashes a path inside the workspace by its relative path, and the cached sources keep their timestamps.)
# What that costs: composite receipts and single-segment
# succinct receipts work (segment lifts ship in risc0-circuit-recursion-zkrs); joining several segments into one
# succinct receipt needs join.zkr and fails with a clear error.
set -euo pipefail
version=5.0.0-rc.1
cache="${LOOM_CACHE:-$HOME/.cache/loom}"
dest="$cache/patched/risc0-circuit-recursion-$version"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
link() { ln -sfn "$cache/patched" "$repo/native/patched"; }
[ -f "$dest/.loom-patched" ] && { link; exit 0; }

registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
# (no registry yet on a new machine: find fails, which is not an error here)
find_src() { { find "$registry" -maxdepth 2 -type d -name "risc0-circuit-recursion-$version" 2>/dev/null || true; } | head -n 1; }
src=$(find_src)
if [ -z "$src" ]; then  # fetch the crate's sources through cargo, without building anything
  tmp=$(mktemp -d)
  mkdir -p "$tmp/src" && : > "$tmp/src/lib.rs"
  printf '[package]\nname = "fetch-only"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nrisc0-circuit-recursion = { version = "=%s", default-features = false }\n' \
    "$version" > "$tmp/Cargo.toml"
  (cd "$tmp" && cargo fetch --quiet)
  rm -rf "$tmp"
  src=$(find_src)
fi
[ -n "$src" ] || { echo "could not fetch risc0-circuit-recursion $version" >&2; exit 1; }

rm -rf "$dest.tmp" && mkdir -p "$(dirname "$dest")"
cp -r "$src" "$dest.tmp"
cat > "$dest.tmp/build.rs" <<'RS'
// Written by Loom's scripts/patch-risc0.sh in place of the upstream build script, which downloads the recursion
// programs archive. An empty zip archive (only its end-of-central-directory record) stands in for it.
fn main() {
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("recursion_zkr.zip");
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.resize(22, 0);
    std::fs::write(out, empty_zip).unwrap();
}
RS
touch "$dest.tmp/.loom-patched"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
link
echo "    patched $dest (no download of recursion programs)"
