#!/usr/bin/env bash
# risc0-circuit-recursion 5.0.0-rc.1's build script downloads an archive of recursion programs (join, resolve,
# identity, union, ...) from the internet, which this machine cannot reach. The same programs are published on
# crates.io in risc0-circuit-recursion-control-zkrs 4.0.6-rc.1 (src/zkrs.tar.xz). This makes a copy of the crate
# under $LOOM_CACHE/patched whose build script embeds a zip of those programs instead of downloading one, and links
# native/patched to it for the `[patch.crates-io]` entry in native/Cargo.toml. (A link, so that every clone reuses
# one compiled copy: cargo hashes a path inside the workspace by its relative path, and the cached sources keep
# their timestamps.) Nothing here is trusted blindly: after the native build, `make` checks every program's
# control ID against the IDs risc0 lists (`pipeline._native.check_recursion_programs`), and a wrong program could
# only fail verification, never forge it.
# With arguments, the same for another release: `patch-risc0.sh VERSION LINK CRATE@VERSION...` patches
# risc0-circuit-recursion VERSION with the programs of each CRATE@VERSION and links LINK (benches/risc0-v3: 4.0.5,
# whose succinct receipts also need the rv32im lift programs of risc0-circuit-recursion-zkrs).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version=${1:-5.0.0-rc.1}
link_at=${2:-$repo/native/patched}
archives=("${@:3}")
[ ${#archives[@]} -gt 0 ] || archives=(risc0-circuit-recursion-control-zkrs@4.0.6-rc.1)
patch_level=2  # bump when what this script writes changes: an older patched copy is then rebuilt
cache="${LOOM_CACHE:-$HOME/.cache/loom}"
dest="$cache/patched/risc0-circuit-recursion-$version"
link() { ln -sfn "$cache/patched" "$link_at"; }
[ "$(cat "$dest/.loom-patched" 2>/dev/null)" = "$patch_level" ] && { link; exit 0; }

registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
# (no registry yet on a new machine: find fails, which is not an error here)
find_src() { { find "$registry" -maxdepth 2 -type d -name "$1-$2" 2>/dev/null || true; } | head -n 1; }
fetch() {  # the crate's sources through cargo (crates.io), without building anything
  local src tmp
  src=$(find_src "$1" "$2")
  if [ -z "$src" ]; then
    tmp=$(mktemp -d)
    mkdir -p "$tmp/src" && : > "$tmp/src/lib.rs"
    printf '[package]\nname = "fetch-only"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = { version = "=%s", default-features = false }\n' \
      "$1" "$2" > "$tmp/Cargo.toml"
    (cd "$tmp" && cargo fetch --quiet)
    rm -rf "$tmp"
    src=$(find_src "$1" "$2")
  fi
  [ -n "$src" ] || { echo "could not fetch $1 $2 from crates.io" >&2; exit 1; }
  echo "$src"
}
src=$(fetch risc0-circuit-recursion "$version")

rm -rf "$dest.tmp" && mkdir -p "$(dirname "$dest")"
cp -r "$src" "$dest.tmp"
# The recursion programs, as the zip risc0 would have downloaded: stored (uncompressed) .zkr files.
unpacked=$(mktemp -d)
for archive in "${archives[@]}"; do
  tar -xJf "$(fetch "${archive%@*}" "${archive#*@}")/src/zkrs.tar.xz" -C "$unpacked"
done
python3 - "$unpacked" "$dest.tmp/recursion_zkr.zip" <<'PY'
import pathlib, sys, zipfile
src, out = pathlib.Path(sys.argv[1]), sys.argv[2]
names = sorted(p.name for p in src.glob("*.zkr"))
for needed in ("identity.zkr", "join.zkr", "resolve.zkr", "union.zkr"):
    if needed not in names:
        sys.exit(f"patch-risc0: {needed} is missing from the recursion programs archive")
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
    for name in names:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible bytes
        z.writestr(info, (src / name).read_bytes())
PY
rm -rf "$unpacked"
cat > "$dest.tmp/build.rs" <<'RS'
// Written by Loom's scripts/patch-risc0.sh in place of the upstream build script, which downloads the recursion
// programs archive: the archive is built by that script from risc0-circuit-recursion-control-zkrs (crates.io).
fn main() {
    let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("recursion_zkr.zip");
    std::fs::copy(dir.join("recursion_zkr.zip"), out).expect("recursion_zkr.zip (scripts/patch-risc0.sh)");
    println!("cargo:rerun-if-changed=recursion_zkr.zip");
}
RS
echo "$patch_level" > "$dest.tmp/.loom-patched"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
link
echo "    patched $dest (recursion programs from ${archives[*]})"
