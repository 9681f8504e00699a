#!/usr/bin/env bash
# The one bench command: the SQLite backend (creates, gets, paged lists per second; raw rusqlite
# creates (row + event in one transaction) and point reads as the floors; creates from 4 threads) and the binding overhead of one `get` through Python and Node against
# the same call in Rust, all in one run. Release builds. Prints a summary with ratios; copy the
# figures into docs/BENCHMARKS.md with the date.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export TAGSMITH_CACHE=${TAGSMITH_CACHE:-$HOME/.cache/tagsmith}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "==> rust: tagsmith bench (100k trackings over 10 tenants, SQLite file)" >&2
cargo build --quiet --release -p tagsmith-cli
"${CARGO_TARGET_DIR:-target}/release/tagsmith" --json bench --trackings "${TRACKINGS:-100000}" --tenants 10 >"$out/rust.json"

echo "==> python: release build, 200k gets" >&2
bindings/python/test.sh >/dev/null 2>&1 || true # ensures the venv exists
(cd bindings/python && VIRTUAL_ENV=$TAGSMITH_CACHE/venv PATH=$TAGSMITH_CACHE/venv/bin:$PATH maturin develop --quiet --release >/dev/null)
"$TAGSMITH_CACHE/venv/bin/python" bindings/python/bench/get.py 200000 >"$out/python.json"

echo "==> node: release build, 200k sync gets, 20k awaited gets" >&2
(cd bindings/node && { [ -d node_modules ] || npm install --no-audit --no-fund --loglevel=error; } && npm run --silent build:release >/dev/null)
node bindings/node/bench/get.mjs >"$out/node.json"

python3 - "$out" <<'PY'
import json, sys, pathlib
d = pathlib.Path(sys.argv[1])
rust, py, node = (json.loads((d / f"{n}.json").read_text()) for n in ("rust", "python", "node"))
print(json.dumps({"rust": rust, "python": py, "node": node}, indent=2))
r = rust["binding_baseline_get_us"]
print()
print("| measure | value |")
print("|---|---|")
print(f"| SQLite creates/s (100k trackings, 10 tenants) | {rust['creates_per_s']:,.0f} |")
print(f"| SQLite gets/s (engine, random rows) | {rust['gets_per_s']:,.0f} ({rust['get_us']:.2f} µs) |")
print(f"| Rust get of one row in a 100k-row file, repeated | {rust['same_row_get_us']:.2f} µs |")
print(f"| Rust get, the binding benches' record (1-row file) | {r:.2f} µs |")
print(f"| raw rusqlite point read | {rust['raw_rusqlite_get_us']:.2f} µs → engine/raw = {rust['get_vs_raw_rusqlite']:.2f}x |")
print(f"| paged lists (100 rows/page) per s | {rust['list_pages_of_100_per_s']:,.0f} |")
n = rust['same_run_creates']
print(f"| engine creates/s, row + event in one transaction ({n:,} into one tenant) | {rust['engine_creates_per_s']:,.0f} |")
print(f"| raw rusqlite floor: same row + event, one IMMEDIATE transaction each | {rust['raw_rusqlite_creates_per_s']:,.0f} → engine/raw = {rust['creates_vs_raw_rusqlite']:.2f}x |")
print(f"| creates/s from 4 threads over 4 tenants, one engine | {rust['creates_per_s_4_threads_4_tenants']:,.0f} |")
print(f"| Python get | {py['get_us']:.2f} µs = Rust + {py['get_us'] - r:.2f} µs ({py['get_us'] / r:.2f}x); floor call {py['floor_call_us']:.2f} µs |")
print(f"| Node getSync | {node['get_sync_us']:.2f} µs = Rust + {node['get_sync_us'] - r:.2f} µs ({node['get_sync_us'] / r:.2f}x) |")
print(f"| Node await get | {node['get_async_us']:.2f} µs = Rust + {node['get_async_us'] - r:.2f} µs ({node['get_async_us'] / r:.2f}x) |")
b = node['bare_async_task_us']
print(f"| Node bare AsyncTask round trip (floor) | {b:.2f} µs → await get = floor + {node['get_async_us'] - b:.2f} µs |")
PY
