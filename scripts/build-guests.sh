#!/usr/bin/env bash
# Builds the Rust guests for both targets with Debian's rustc-web and -Zbuild-std (rustup cannot add targets
# here), then copies the artifacts into build/. Cargo's target dir lives outside the clone so that a fresh
# clone reuses it. Paths are remapped so that the same sources give the same bytes (and image IDs) anywhere.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${LOOM_CACHE:-$HOME/.cache/loom}"
out="$repo/build"

export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
cargo=/usr/bin/cargo
remap=(--remap-path-prefix="$repo=/loom" --remap-path-prefix="${CARGO_HOME:-$HOME/.cargo}=/cargo"
       --remap-path-prefix="$cache=/cache")
join() { local IFS=$'\x1f'; echo "$*"; }

# The remapped clone path is part of the rustflags, which cargo fingerprints, so a clone at a new path would rebuild
# everything (std included, ~3 min). The outputs depend only on the sources and the tools, so they are kept under
# the cache, named by a digest of both, and a clone with the same sources copies them instead of building.
key=$( { /usr/bin/rustc -vV; /usr/bin/cargo -V; ld.lld-16 --version; clang-16 --version | head -1
         dpkg-query -W wasi-libc 2>/dev/null || true
         cd "$repo" && find rust-guests activities/c scripts/build-guests.sh -type f -print0 | LC_ALL=C sort -z \
           | xargs -0 sha256sum; } | sha256sum | cut -c1-32 )
kept="$cache/guests/$key"
mkdir -p "$out"
if [[ -d "$kept" ]]; then
  echo "==> Rust guests and WASI commands: sources unchanged, copied from $kept"
  for kind in wasm zkvm wasi; do rm -rf "${out:?}/$kind" && cp -rp "$kept/$kind" "$out/"; done
  exit 0
fi
rm -rf "$out/wasm" "$out/zkvm" "$out/wasi" && mkdir -p "$out/wasm" "$out/zkvm" "$out/wasi" "$cache/guests"

echo "==> wasm32 guests (rust-guests/)"
build_wasm() {  # cargo target dir under $cache/target, rustflags (joined), which packages
  local dir="$cache/target/$1" flags=$2; shift 2
  CARGO_TARGET_DIR="$dir" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/lib/llvm-16/bin/wasm-ld \
  CARGO_ENCODED_RUSTFLAGS="$flags" \
    "$cargo" build --quiet --locked --release --manifest-path "$repo/rust-guests/Cargo.toml" "$@" \
      --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort
  cp -p "$dir"/wasm32-unknown-unknown/release/*.wasm "$out/wasm/"
}
build_wasm wasm "$(join "${remap[@]}")" --workspace --exclude tlsn-verify --exclude tlsn-verifier
# The TLSNotary verifier uses wasm's wide-arithmetic proposal (64x64->128-bit products, enabled in Loom's engine) so
# that its RSA runs on 64-bit limbs: twice as fast. Built last (an older build left a tlsn_verify.wasm in the first
# target dir) and in a target dir of its own, so that neither build's flags rebuild the other's std.
build_wasm wasm-wide "$(join -C target-feature=+wide-arithmetic "${remap[@]}")" -p tlsn-verify 2>&1 \
  | { grep -v -e "unstable feature specified for \`-Ctarget-feature\`: \`wide-arithmetic\`" \
        -e "this feature is not stably supported" -e '^ *|$' -e '^$' || true; } >&2

echo "==> RISC Zero guests (rust-guests/zkvm/)"
# One cargo invocation per guest: built together, cargo would unify the features of shared dependencies across
# guests, and adding a guest could change the bytes (and image IDs) of the others.
for main in "$repo"/rust-guests/zkvm/*/src/main.rs; do  # binaries only; library crates have no main.rs
  name=$(basename "$(dirname "$(dirname "$main")")")
  CARGO_TARGET_DIR="$cache/target/zkvm" \
  CARGO_TARGET_RISCV32IM_RISC0_ZKVM_ELF_LINKER=ld.lld-16 \
  RISC0_FEATURE_bigint2="" \
  CARGO_ENCODED_RUSTFLAGS="$(join -C passes=lower-atomic -C link-arg=-Ttext=0x00200800 -C link-arg=--fatal-warnings \
    -C panic=abort --cfg 'getrandom_backend="custom"' "${remap[@]}")" \
    "$cargo" build --quiet --locked --release --manifest-path "$repo/rust-guests/zkvm/Cargo.toml" -p "$name" \
      --target riscv32im-risc0-zkvm-elf -Zbuild-std=alloc,core,proc_macro,panic_abort,std \
      -Zbuild-std-features=compiler-builtins-mem
  cp -p "$cache/target/zkvm/riscv32im-risc0-zkvm-elf/release/$name" "$out/zkvm/$name.elf"
done
ls -l "$out"/wasm "$out"/zkvm | sed 's/^/    /'

echo "==> WASI commands (rust-guests/wasi/, activities/c/)"
# runtime: wasi. rustc's wasm32-wasip1 target links wasi-libc (libc.a, crt1-command.o) from a self-contained
# directory that Debian's rustc-web does not ship; Debian's wasi-libc package has them, so link against it instead.
# Each Rust program is its own cargo workspace; they share one target dir. The C programs build with clang 16
# against the same wasi-libc (wasm-ld from lld-16).
wasi_libc=/usr/lib/wasm32-wasi
for manifest in "$repo"/rust-guests/wasi/*/Cargo.toml; do
  name=$(basename "$(dirname "$manifest")")
  CARGO_TARGET_DIR="$cache/target/wasi" CARGO_TARGET_WASM32_WASIP1_LINKER=/usr/lib/llvm-16/bin/wasm-ld \
  CARGO_ENCODED_RUSTFLAGS="$(join -C link-self-contained=no -L "$wasi_libc" -C link-arg="$wasi_libc/crt1-command.o" \
    "${remap[@]}")" \
    "$cargo" build --quiet --locked --release --manifest-path "$manifest" --target wasm32-wasip1 \
      -Zbuild-std=std,panic_abort
  cp -p "$cache/target/wasi/wasm32-wasip1/release/$name.wasm" "$out/wasi/"
done
for src in "$repo"/activities/c/*.c; do
  clang-16 --target=wasm32-wasi --sysroot=/usr -std=c11 -O2 -Wall -Wextra -Werror -ffile-prefix-map="$repo=/loom" \
    -Wl,--strip-all -o "$out/wasi/$(basename "$src" .c).wasm" "$src"
done
ls -l "$out"/wasi | sed 's/^/    /'

staging=$(mktemp -d "$cache/guests/.new-XXXXXX") && chmod 755 "$staging"
cp -rp "$out"/{wasm,zkvm,wasi} "$staging/"
mv -T "$staging" "$kept" 2>/dev/null || rm -rf "$staging"  # another build kept the same outputs first
