#!/usr/bin/env bash
# Installs everything the build and the tests need, skipping what is already present.
# Only the package registries are reachable, so every tool is built from crates.io or comes from npm.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

# The wasm-bindgen CLI must match the wasm-bindgen crate locked in Cargo.lock exactly.
locked_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

bindgen_version=$(locked_version wasm-bindgen)
if [ -z "$bindgen_version" ]; then
  log "Cargo.lock has no wasm-bindgen; run cargo generate-lockfile"; exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  log "building wasm-bindgen-cli $bindgen_version (takes a few minutes once)"
  cargo install --locked --force wasm-bindgen-cli --version "$bindgen_version"
fi

if ! command -v wasm-pack >/dev/null 2>&1; then
  log "building wasm-pack (takes a few minutes once)"
  cargo install --locked wasm-pack
fi

if [ "${SKIP_NPM:-}" != 1 ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm dev dependencies"
    npm ci --no-audit --no-fund
  fi
fi
log "ready"
