#!/usr/bin/env bash
# Builds @tagsmith/wasm and tests it in headless Chromium (Debian's /usr/bin/chromium).
# Idempotent and non-interactive; runs from any directory. Steps:
#   1. Chromium (apt) if missing; the wasm32 target; wasm-bindgen-cli at the crate's exact version
#      (cached under ${TAGSMITH_CACHE:-~/.cache/tagsmith}/tools); npm ci if node_modules is missing.
#   2. Debug build → wasm-bindgen → bindings/wasm/pkg (what the browser test loads); tsc checks
#      the generated .d.ts against tests/types-check.ts.
#   3. Release build → wasm-bindgen into the target dir (for the size budget only);
#      TAGSMITH_WASM_SKIP_RELEASE=1 skips it.
#   4. node --test tests/browser.test.mjs: every conformance vector + direct checks + size budgets.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WB_VERSION=0.2.130 # must equal the `wasm-bindgen = "=…"` pin in Cargo.toml
TOOLS="${TAGSMITH_CACHE:-$HOME/.cache/tagsmith}/tools"
CHROMIUM=/usr/bin/chromium
# A relative CARGO_TARGET_DIR means relative to where this script was started (cargo runs in $ROOT).
if [ -n "${CARGO_TARGET_DIR:-}" ] && [ "${CARGO_TARGET_DIR#/}" = "$CARGO_TARGET_DIR" ]; then
  export CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR"
fi
# Never let any tool fetch its own browser (it fails here, and we test Debian's Chromium).
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CHROMIUM

say() { printf '\n== %s\n' "$*" >&2; }

# --- 1. tools -----------------------------------------------------------------------------------
if [ ! -x "$CHROMIUM" ]; then
  say "installing chromium (apt)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y chromium; then
    $SUDO apt-get update
    $SUDO apt-get install -y chromium
  fi
fi

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 \
  || rustup target add wasm32-unknown-unknown

WASM_BINDGEN="$TOOLS/bin/wasm-bindgen"
if ! "$WASM_BINDGEN" --version 2>/dev/null | grep -qx "wasm-bindgen $WB_VERSION"; then
  say "installing wasm-bindgen-cli $WB_VERSION into $TOOLS (about 2 min, once)"
  # No --locked: it fails here on a package missing from the registry.
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --root "$TOOLS"
fi

if [ ! -d "$HERE/node_modules" ] || [ ! -x "$HERE/node_modules/.bin/tsc" ] \
  || [ ! -d "$HERE/node_modules/playwright-core" ]; then
  say "npm ci"
  (cd "$HERE" && npm ci --no-audit --no-fund)
fi

# Where cargo puts artifacts (honours CARGO_TARGET_DIR and cargo config, relative paths included).
TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"

# --- 2. debug build → pkg/ -------------------------------------------------------------------------
say "cargo build -p tagsmith-wasm --target wasm32-unknown-unknown"
(cd "$ROOT" && cargo build -p tagsmith-wasm --target wasm32-unknown-unknown)

LOCKED="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
if [ "$LOCKED" != "$WB_VERSION" ]; then
  echo "Cargo.lock has wasm-bindgen $LOCKED but this script installs the CLI at $WB_VERSION: update WB_VERSION" >&2
  exit 1
fi

rm -rf "$HERE/pkg"
"$WASM_BINDGEN" --target web --out-dir "$HERE/pkg" \
  "$TARGET_DIR/wasm32-unknown-unknown/debug/tagsmith_wasm.wasm"

say "tsc -p tests (generated .d.ts)"
"$HERE/node_modules/.bin/tsc" -p "$HERE/tests"

# --- 3. release build (size budget) --------------------------------------------------------------
if [ "${TAGSMITH_WASM_SKIP_RELEASE:-0}" != "1" ]; then
  say "cargo build -p tagsmith-wasm --target wasm32-unknown-unknown --release (size budget)"
  (cd "$ROOT" && cargo build -p tagsmith-wasm --target wasm32-unknown-unknown --release)
  RELEASE_PKG="$TARGET_DIR/tagsmith-wasm-release-pkg"
  rm -rf "$RELEASE_PKG"
  "$WASM_BINDGEN" --target web --out-dir "$RELEASE_PKG" \
    "$TARGET_DIR/wasm32-unknown-unknown/release/tagsmith_wasm.wasm"
  export TAGSMITH_WASM_RELEASE_WASM="$RELEASE_PKG/tagsmith_wasm_bg.wasm"
fi

# --- 4. browser test -------------------------------------------------------------------------------
say "node --test tests/browser.test.mjs (headless Chromium)"
cd "$HERE"
node --test tests/browser.test.mjs
