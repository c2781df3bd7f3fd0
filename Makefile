# The two commands: `make demo` and `make test` (see README.md). Both install what is missing first.
.PHONY: setup build demo test

# cargo-installed tools (wasm-pack, wasm-bindgen) are found even when ~/.cargo/bin is not on PATH.
export PATH := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)

setup:
	bash scripts/setup.sh

build: setup
	node scripts/build-pkg.mjs

demo: build
	node examples/node/demo.mjs

# The tests need Chromium (the playground) and a throwaway PostgreSQL (the watcher): setup installs
# Debian's chromium and postgresql when they are missing.
test:
	SETUP_CHROMIUM=1 SETUP_POSTGRES=1 bash scripts/setup.sh
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib --test wasm -- -D warnings
	cargo clippy --lib --no-default-features -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib --no-default-features -- -D warnings
	cargo test
	wasm-pack test --node --mode no-install -- --test wasm
	node scripts/build-pkg.mjs
	node --test tests/js/
	cargo test --benches
	node bench/run.mjs --smoke
