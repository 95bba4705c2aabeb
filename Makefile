# cuprum's commands. `make help` lists them. Everything bootstraps itself:
# the first target that needs Python tools creates .venv from the pinned
# requirements-dev.txt, and `build` compiles the engine into the package.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NATIVE_STAMP := $(VENV)/.native-built
export VIRTUAL_ENV := $(abspath $(VENV))
ENGINE_SOURCES := $(shell find engine/src -name "*.rs") engine/build.rs engine/Cargo.toml Cargo.toml Cargo.lock pyproject.toml Makefile
MD_FILES := README.md $(wildcard docs/*.md)

.DEFAULT_GOAL := help
.PHONY: help venv build demo test test-rust test-python test-python-only bench \
	test-pinned test-generic-unix test-wheels test-pure-wheel wheels check-fmt fmt lint typecheck markdownlint check clean

help: ## List every target with what it does
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	@touch $@

venv: $(STAMP) ## Create .venv with the pinned dev and test tools

$(NATIVE_STAMP): $(STAMP) $(ENGINE_SOURCES)
	$(BIN)/maturin develop --release --features python,fault-injection --quiet
	@touch $@

build: $(NATIVE_STAMP) ## Build the Rust engine into cuprum/ (release, via maturin)

demo: build ## The main job: a real producer | tr | sha256sum pipeline pumped by cuprum
	$(BIN)/python -m cuprum.demo

test: build test-rust ## Every test: cargo tests, then pytest (unit + BDD) with the engine required
	CUPRUM_REQUIRE_RUST=1 CUPRUM_REQUIRE_FAULT_INJECTION=1 $(BIN)/python -m pytest

test-pinned: build ## The pytest suite pinned to one CPU, as a loaded CI machine runs it (races show)
	CUPRUM_REQUIRE_RUST=1 CUPRUM_REQUIRE_FAULT_INJECTION=1 taskset -c 0 $(BIN)/python -m pytest -q

test-rust: ## Rust unit and integration tests of the engine, splice path and copy path
	cargo test -p cuprum-engine --features fault-injection
	CUPRUM_SPLICE=0 cargo test -p cuprum-engine

test-generic-unix: $(STAMP) ## The engine as macOS and the BSDs build it (no splice, eventfd, RWF_NOWAIT), tested on Linux: cargo tests and pytest
	cargo test -p cuprum-engine --features generic-unix,fault-injection
	rm -f $(NATIVE_STAMP)
	$(BIN)/maturin develop --release --features python,fault-injection,generic-unix --quiet
	CUPRUM_REQUIRE_RUST=1 CUPRUM_REQUIRE_FAULT_INJECTION=1 $(BIN)/python -m pytest -q
	$(MAKE) build

test-python-only: $(STAMP) ## The whole pytest suite with the native module hidden
	CUPRUM_TEST_HIDE_NATIVE=1 $(BIN)/python -m pytest

test-wheels: $(STAMP) ## Build the abi3 wheel once, run the suite on it under each CPython 3.11+ found
	$(BIN)/python .ci/wheel_matrix.py

test-pure-wheel: $(STAMP) ## Build the pure-Python wheel, install it with no Rust on PATH, run the suite (engine absent)
	$(BIN)/python .ci/wheel_matrix.py --pure

wheels: $(STAMP) ## Build into dist/: the abi3 manylinux wheel (x86_64; aarch64 where its Rust target is installed), the sdist and the pure-Python wheel
	$(BIN)/maturin build --release --out dist
	@if rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$$'; then \
		$(BIN)/maturin build --release --target aarch64-unknown-linux-gnu --out dist; \
	else \
		echo "wheels: aarch64 skipped (rustup target add aarch64-unknown-linux-gnu and a cross linker first)"; \
	fi
	$(BIN)/maturin sdist --out dist
	$(BIN)/python .ci/pure_wheel.py dist

bench: build ## Benchmarks: figures and in-run ratios (takes minutes)
	$(BIN)/python bench/run.py

check-fmt: $(STAMP) ## Check formatting (ruff format, cargo fmt)
	$(BIN)/ruff format --check .
	cargo fmt --all -- --check

fmt: $(STAMP) ## Format Python and Rust sources
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	cargo fmt --all

lint: $(STAMP) ## Lint (ruff check, cargo clippy -D warnings)
	$(BIN)/ruff check .
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --workspace --all-targets --features python -- -D warnings
	cargo clippy --workspace --all-targets --features python,fault-injection -- -D warnings
	cargo clippy --workspace --all-targets --features python,fault-injection,generic-unix -- -D warnings

typecheck: build ## mypy --strict over cuprum/, and stubtest of the native module's .pyi
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest cuprum._rust_backend_native --ignore-missing-stub

markdownlint: $(STAMP) ## Lint README and docs/ (pymarkdown)
	$(BIN)/pymarkdown --config .pymarkdown.json scan $(MD_FILES)

check: check-fmt lint typecheck test test-pinned test-generic-unix test-python-only test-wheels test-pure-wheel ## Every gate CI runs

clean: ## Remove build products and the virtual environment
	cargo clean
	rm -rf $(VENV) cuprum/*.so .pytest_cache .mypy_cache .ruff_cache .hypothesis
