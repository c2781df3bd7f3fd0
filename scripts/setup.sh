#!/usr/bin/env bash
# Installs everything the build and the tests need, skipping what is already present.
# Only the package registries are reachable, so every tool is built from crates.io or comes from npm.
#   SETUP_CHROMIUM=1  also install Debian's chromium (browser tests)
#   SETUP_POSTGRES=1  also install Debian's postgresql
#   SETUP_VARNISH=1   also install Debian's varnish and varnish-modules (vmod xkey)
#   SETUP_REDIS=1     also install Debian's redis-server (the redis:// bus tests start their own)
#   SKIP_NPM=1        skip npm ci
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }
# Runs a one-time install and says how long it took, so a first run is never a silent terminal.
timed() {
  local what=$1 t=$SECONDS
  shift
  log "$what"
  "$@"
  log "  done in $((SECONDS - t))s"
}
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

for tool in cargo rustup node npm; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (Rust via rustup, Node.js >= 20)"
done
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  die "Node.js >= 20 is required, found $(node --version)"

# Tools cargo installs land here; make them visible to the rest of this script and to make.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# The wasm-bindgen CLI must match the wasm-bindgen crate locked in Cargo.lock exactly.
locked_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    log "adding the $component component"
    rustup component add "$component"
  fi
done

bindgen_version=$(locked_version wasm-bindgen)
if [ -z "$bindgen_version" ]; then
  die "Cargo.lock has no wasm-bindgen; run cargo generate-lockfile"
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  timed "building wasm-bindgen-cli $bindgen_version from crates.io (once; about 4 minutes on 2 cores)" \
    cargo install --locked --force wasm-bindgen-cli --version "$bindgen_version"
fi

# Pinned so a fresh machine builds the version the project was tested with.
wasm_pack_version=0.15.1
if ! command -v wasm-pack >/dev/null 2>&1; then
  timed "building wasm-pack $wasm_pack_version from crates.io (once; about 4 minutes on 2 cores)" \
    cargo install --locked wasm-pack --version "$wasm_pack_version"
fi

if [ "${SKIP_NPM:-}" != 1 ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    timed "installing the npm dev dependencies (npm ci)" npm ci --no-audit --no-fund
  fi
fi

# Debian packages, only when asked; the package lists are refreshed once, before the first install.
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  timed "installing Debian's $*" \
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null
}
if [ "${SETUP_CHROMIUM:-}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium
fi
if [ "${SETUP_POSTGRES:-}" = 1 ] && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt_install postgresql
fi
# varnishd (in /usr/sbin, often outside a user's PATH) and vmod xkey from varnish-modules.
varnish_ready() {
  [ -x /usr/sbin/varnishd ] || command -v varnishd >/dev/null 2>&1 || return 1
  ls /usr/lib/*/varnish/vmods/libvmod_xkey.so >/dev/null 2>&1 || ls /usr/lib/varnish/vmods/libvmod_xkey.so >/dev/null 2>&1
}
if [ "${SETUP_VARNISH:-}" = 1 ] && ! varnish_ready; then
  # varnishd compiles VCL with the C compiler the package depends on. The tests start their own
  # varnishd; the service the package may start is not used.
  apt_install varnish varnish-modules
fi
if [ "${SETUP_REDIS:-}" = 1 ] && ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server
fi

log "ready"
