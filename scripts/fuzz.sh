#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time, one process each (the machine is shared).
#
#   scripts/fuzz.sh [seconds-per-target] [target…]      (default: 60 s, every target)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install --locked cargo-fuzz`). Corpora grow
# in fuzz/corpus/<target> (git-ignored), seeded from fuzz/seeds/<target> and, for `sdl`, from the
# schema fixtures. Crashes land in fuzz/artifacts/<target>; minimize one with
#   cargo +nightly fuzz tmin <target> <artifact>
# and pin it in tests/regressions.rs. Prints one line per target: runs, seconds, exec/s, result.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sdl template mutation ops)
fixtures="${FIXTURES:-$(cd .. && pwd)/tests/fixtures/schemas}"

# Debug assertions and overflow checks on; no sanitizer: the crate forbids unsafe code, and the
# 2-3x speed-up buys more executions than ASan's checks of hashbrown's internals would add.
flags=(--release --debug-assertions --sanitizer none)
cargo +nightly fuzz build "${flags[@]}"
# Run the binaries built above directly, so editing the crate while fuzzing runs changes nothing.
bin="target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  max_len=4096
  if [ "$t" = sdl ]; then
    max_len=16384
    if [ -d "$fixtures" ]; then
      # Whole small schemas, and the big ones cut at blank lines into pieces that fit max_len.
      for f in "$fixtures"/*.graphql; do
        awk -v dir="corpus/$t" -v base="$(basename "$f" .graphql)" -v max=12000 '
          { buf = buf $0 "\n" }
          /^$/ && length(buf) > max { n++; print buf > (dir "/" base "-" n); close(dir "/" base "-" n); buf = "" }
          END { if (buf != "") { n++; print buf > (dir "/" base "-" n) } }' "$f"
      done
    fi
  fi
  log="corpus/$t.log"
  status=ok
  started=$(date +%s)
  mkdir -p "artifacts/$t"
  "$bin/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" \
    -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status="CRASH (see fuzz/$log and fuzz/artifacts/$t)"
  took=$(( $(date +%s) - started ))
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  corpus=$(ls "corpus/$t" | wc -l)
  printf '%-9s runs=%-10s secs=%-5s exec/s=%-7s corpus=%-6s %s\n' "$t" "${runs:-?}" "$took" "${rate:-?}" "$corpus" "$status"
done
