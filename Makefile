# The two commands: `make demo` and `make test` (see README.md). Both install what is missing first.
.PHONY: setup build demo test

# cargo-installed tools (wasm-pack, wasm-bindgen) are found even when ~/.cargo/bin is not on PATH.
export PATH := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)

setup:
	bash scripts/setup.sh

build: setup
	node scripts/build-pkg.mjs

demo:
	bash scripts/steps.sh demo

# The tests need Chromium (the playground) and a throwaway PostgreSQL (the watcher): setup installs
# Debian's chromium and postgresql when they are missing. scripts/steps.sh names each step as it
# starts and prints where the time went at the end.
test:
	bash scripts/steps.sh test
