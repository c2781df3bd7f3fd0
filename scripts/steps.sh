#!/usr/bin/env bash
# Runs the named steps of `make test` (or `make demo`) one after the other, announcing each before it
# starts and saying how long it took, then prints where the time went. A first run spends most of it
# in scripts/setup.sh (the one-time `cargo install`s) and in the first compile of each target.
#
#   bash scripts/steps.sh test      # every check CI runs
#   bash scripts/steps.sh demo      # build the package and run the demo
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

names=()
secs=()
started=$SECONDS

step() {
  local name=$1
  shift
  printf '\n\033[1m[%s] %s\033[0m  (%s)\n' "$((${#names[@]} + 1))" "$name" "$*"
  local t=$SECONDS
  "$@"
  names+=("$name")
  secs+=("$((SECONDS - t))")
  printf '[%s] %s: done in %ss\n' "${#names[@]}" "$name" "$((SECONDS - t))"
}

summary() {
  printf '\nWhere the time went (%ss in all):\n' "$((SECONDS - started))"
  for i in "${!names[@]}"; do
    printf '  %5ss  %s\n' "${secs[$i]}" "${names[$i]}"
  done
}
trap 'status=$?; [ "$status" = 0 ] || { summary; printf "\nFAILED in step %s (exit %s)\n" "$((${#names[@]} + 1))" "$status"; }' EXIT

case "${1:-}" in
  test)
    step "setup: install what is missing (first run: cargo installs, Debian packages)" \
      env SETUP_CHROMIUM=1 SETUP_POSTGRES=1 SETUP_VARNISH=1 SETUP_REDIS=1 bash scripts/setup.sh
    step "rustfmt" cargo fmt --check
    step "clippy, native (first run compiles every dependency)" cargo clippy --all-targets -- -D warnings
    step "clippy, wasm32" cargo clippy --target wasm32-unknown-unknown --lib --test wasm -- -D warnings
    step "clippy, native without sdl" cargo clippy --lib --no-default-features -- -D warnings
    step "clippy, wasm32 without sdl" cargo clippy --target wasm32-unknown-unknown --lib --no-default-features -- -D warnings
    step "cargo test" cargo test
    step "wasm tests in Node" wasm-pack test --node --mode no-install -- --test wasm
    step "build the npm package (two wasm builds, wasm-opt)" node scripts/build-pkg.mjs
    # The real servers were installed above: a test that would skip for want of one fails instead.
    step "JS tests of the packed package (Node, workerd, Chromium, PostgreSQL, Redis, Varnish)" \
      env CASCADE_EDGE_REQUIRE_SERVERS=1 node --test tests/js/
    step "Rust benchmarks, once each" cargo test --benches
    step "JS benchmarks, smoke mode" node bench/run.mjs --smoke
    ;;
  demo)
    step "setup: install what is missing (first run: cargo installs)" bash scripts/setup.sh
    step "build the npm package (two wasm builds, wasm-opt)" node scripts/build-pkg.mjs
    step "the demo" node examples/node/demo.mjs
    ;;
  *)
    echo "usage: bash scripts/steps.sh test|demo" >&2
    exit 2
    ;;
esac
summary
