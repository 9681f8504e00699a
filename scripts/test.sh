#!/usr/bin/env bash
# Every test, on a fresh machine or a warm one: Rust (core conformance suites on memory, SQLite
# and PostgreSQL, vectors, CLI), Python (pytest + stubtest), Node (node --test + tsc), WASM
# (headless Chromium). Installs what it needs (maturin and pytest in a cached venv, npm
# packages, wasm-bindgen-cli, Debian's chromium; PostgreSQL is started by scripts/postgres.sh).
# Build outputs go to $CARGO_TARGET_DIR when set (CI points it at a cache).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export TAGSMITH_CACHE=${TAGSMITH_CACHE:-$HOME/.cache/tagsmith}
mkdir -p "$TAGSMITH_CACHE"

started=$(date +%s)
step() {
  local name=$1
  shift
  local t0
  t0=$(date +%s)
  echo "==> $name"
  "$@"
  echo "<== $name ok ($(($(date +%s) - t0)) s)"
}

# The PostgreSQL backend's suites run against the local server (started here) unless
# TAGSMITH_TEST_POSTGRES already names one.
echo "==> postgres for the tests"
if [ -z "${TAGSMITH_TEST_POSTGRES:-}" ]; then
  # Ours to restart (crates/core/tests/postgres_restart.rs restarts it under load).
  TAGSMITH_TEST_POSTGRES_RESTART="pg_ctlcluster $(ls /usr/lib/postgresql | sort -n | tail -1) main restart"
  export TAGSMITH_TEST_POSTGRES_RESTART
fi
TAGSMITH_TEST_POSTGRES=$(scripts/postgres.sh)
export TAGSMITH_TEST_POSTGRES
step "rust format" cargo fmt --all -- --check
step "rust lints (workspace, bindings included)" cargo clippy --quiet --workspace --all-targets -- -D warnings
step "rust tests (core, cli)" cargo test --quiet
step "python binding" bindings/python/test.sh
step "node binding" bindings/node/test.sh
step "wasm binding in chromium" bindings/wasm/test.sh
examples() {
  cargo run --quiet -p tagsmith-core --example quickstart
  "$TAGSMITH_CACHE/venv/bin/python" examples/python/quickstart.py
  node examples/node/quickstart.mjs
}
step "examples (rust, python, node)" examples
echo "all tests passed in $(($(date +%s) - started)) s"
