#!/usr/bin/env bash
# Installs the Debian packages Loom builds with, once: the rustc-web toolchain (any target through build-std),
# the Rust library sources it builds std from, and LLVM 16's linkers for wasm32 and RISC Zero guests.
set -euo pipefail
pkgs=(rustc-web cargo-web rust-web-src lld-16)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> apt-get install ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in /usr/bin/rustc /usr/bin/cargo /usr/lib/llvm-16/bin/wasm-ld /usr/bin/ld.lld-16 cargo python3 npm; do
  command -v "$tool" >/dev/null || { echo "missing $tool: see ../shared/DESIGN.md (Toolchain)"; exit 1; }
done
