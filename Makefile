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

test: setup
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib --test wasm -- -D warnings
	cargo test
	wasm-pack test --node --mode no-install -- --test wasm
	node scripts/build-pkg.mjs
	node --test tests/js/
	cargo test --benches
	node bench/run.mjs --smoke
