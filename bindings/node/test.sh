#!/usr/bin/env bash
# Build the Node binding (debug) and run its checks: tsc on the generated .d.ts, then node --test.
# Idempotent and non-interactive; runs from any directory; honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# Install JS tools only when node_modules is missing or older than the lock file. `npm ci`
# refuses a lock file without other platforms' optional packages (@napi-rs/cli's native helpers),
# which a registry mirror lacking them produces; `npm install` then installs the same locked
# versions for this platform.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  ci_log="$(mktemp)"
  if ! npm ci --no-audit --no-fund --prefer-offline --loglevel=error >"$ci_log" 2>&1; then
    grep -m3 -E 'error (code|Missing)' "$ci_log" >&2 || true
    echo "test.sh: npm ci failed (above); falling back to npm install with the same lock file" >&2
    npm install --no-audit --no-fund --prefer-offline --loglevel=error
  fi
  rm -f "$ci_log"
fi

# napi-rs runs `cargo build --target <host>` and writes tagsmith.<platform>.node, binding.js
# (the loader) and index.d.ts (from src/lib.rs + dts-header.d.ts) here.
npm run --silent build
./node_modules/.bin/tsc --noEmit -p __test__/tsconfig.json
node --test __test__/
