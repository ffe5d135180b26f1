#!/usr/bin/env bash
# Installs the Debian packages Loom builds with, once: the rustc-web toolchain (any target through build-std),
# the Rust library sources it builds std from, LLVM 16's linkers for wasm32 and RISC Zero guests, and for the WASI
# activities (runtime: wasi) Debian's wasi-libc (libc.a and crt1-command.o for wasm32-wasi) with clang 16 and its
# wasm32 compiler-rt builtins (the C programs; wasm-ld comes with lld-16). Packages given as arguments are installed
# too (make browser: chromium, for the run viewer's test in a real browser).
set -euo pipefail
pkgs=(rustc-web cargo-web rust-web-src lld-16 wasi-libc clang-16 libclang-rt-16-dev-wasm32 "$@")  # $@: more
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> apt-get install ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in /usr/bin/rustc /usr/bin/cargo /usr/lib/llvm-16/bin/wasm-ld /usr/bin/ld.lld-16 /usr/bin/clang-16 \
            /usr/lib/wasm32-wasi/libc.a /usr/lib/wasm32-wasi/crt1-command.o cargo python3 npm; do
  [ -e "$tool" ] || command -v "$tool" >/dev/null || { echo "missing $tool: see docs/install.md (the toolchain)"; exit 1; }
done
