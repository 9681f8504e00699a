#!/usr/bin/env bash
# The queue bench, side by side in one run: `tagsmith jobs bench` (SQLite file, release build)
# against plainjob (npm, SQLite via better-sqlite3) in its best documented configuration (silent
# logger, poll interval 0, 1 and 2 worker processes). Same job count, same machine, same run.
# Prints both JSON lines and a table with the ratios; copy the figures into docs/BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${JOBS:-50000}
concurrency=${CONCURRENCY:-100}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "==> tagsmith jobs bench ($jobs no-op jobs, concurrency $concurrency)" >&2
cargo build --quiet --release -p tagsmith-cli
"${CARGO_TARGET_DIR:-target}/release/tagsmith" --json jobs bench --jobs "$jobs" --concurrency "$concurrency" | tail -1 >"$out/tagsmith.json"

echo "==> plainjob ($jobs no-op jobs; 1 and 2 worker processes)" >&2
(cd bench/plainjob && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error >&2; })
node bench/plainjob/bench.mjs --jobs "$jobs" --procs 1 2>/dev/null | tail -1 >"$out/plainjob1.json"
node bench/plainjob/bench.mjs --jobs "$jobs" --procs 2 2>/dev/null | tail -1 >"$out/plainjob2.json"

python3 - "$out" <<'PY'
import json, sys, pathlib
d = pathlib.Path(sys.argv[1])
t, p1, p2 = (json.loads((d / f"{n}.json").read_text()) for n in ("tagsmith", "plainjob1", "plainjob2"))
print(json.dumps({"tagsmith": t, "plainjob_1_proc": p1, "plainjob_2_procs": p2}))
best = max((p1, p2), key=lambda p: p["process_per_sec"])
best_enq = max(p1["enqueue_per_sec"], p2["enqueue_per_sec"])
print()
print(f"| {t['jobs']:,} no-op jobs, SQLite file | tagsmith | plainjob 1 proc | plainjob 2 procs | tagsmith / best plainjob |")
print("|---|---|---|---|---|")
print(f"| bulk enqueue, jobs/s | {t['enqueue_per_sec']:,.0f} | {p1['enqueue_per_sec']:,.0f} | {p2['enqueue_per_sec']:,.0f} | {t['enqueue_per_sec'] / best_enq:.2f}x |")
print(f"| burn-down, jobs/s | {t['process_per_sec']:,.0f} | {p1['process_per_sec']:,.0f} | {p2['process_per_sec']:,.0f} | {t['process_per_sec'] / best['process_per_sec']:.2f}x |")
print(f"| idle pickup p50 / p99, ms | {t['p50_ms']:.2f} / {t['p99_ms']:.2f} | {p1['p50_ms']:.2f} / {p1['p99_ms']:.2f} | {p2['p50_ms']:.2f} / {p2['p99_ms']:.2f} | |")
PY
