#!/usr/bin/env bash
# The queue bench, side by side in one run: `tagsmith jobs bench` (SQLite file, release build)
# against plainjob (npm, SQLite via better-sqlite3) in its best documented configuration (silent
# logger, poll interval 0, 1 and 2 worker processes). Same job count, same machine, same run.
# Each side runs ROUNDS times (default 3), interleaved, and the table shows the medians: this
# VM's noise moves single runs by ±30 %. Prints every run's JSON and the table with the ratios;
# copy the figures into docs/BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${JOBS:-50000}
concurrency=${CONCURRENCY:-100}
rounds=${ROUNDS:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cargo build --quiet --release -p tagsmith-cli
(cd bench/plainjob && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error >&2; })
for round in $(seq "$rounds"); do
  echo "==> round $round/$rounds: tagsmith jobs bench ($jobs no-op jobs, concurrency $concurrency)" >&2
  "${CARGO_TARGET_DIR:-target}/release/tagsmith" --json jobs bench --jobs "$jobs" --concurrency "$concurrency" | tail -1 >>"$out/tagsmith.jsonl"
  echo "==> round $round/$rounds: plainjob ($jobs no-op jobs; 1 and 2 worker processes)" >&2
  node bench/plainjob/bench.mjs --jobs "$jobs" --procs 1 2>/dev/null | tail -1 >>"$out/plainjob1.jsonl"
  node bench/plainjob/bench.mjs --jobs "$jobs" --procs 2 2>/dev/null | tail -1 >>"$out/plainjob2.jsonl"
done

python3 - "$out" <<'PY'
import json, statistics, sys, pathlib
d = pathlib.Path(sys.argv[1])
runs = {n: [json.loads(l) for l in (d / f"{n}.jsonl").read_text().splitlines() if l.strip()]
        for n in ("tagsmith", "plainjob1", "plainjob2")}
for n, rs in runs.items():
    for r in rs:
        print(json.dumps({"side": n, **r}))
med = {n: {k: statistics.median(r[k] for r in rs) for k in ("enqueue_per_sec", "process_per_sec", "p50_ms", "p99_ms")}
       for n, rs in runs.items()}
t, p1, p2 = med["tagsmith"], med["plainjob1"], med["plainjob2"]
best_proc = max(p1["process_per_sec"], p2["process_per_sec"])
best_enq = max(p1["enqueue_per_sec"], p2["enqueue_per_sec"])
print()
print(f"| medians of {len(runs['tagsmith'])} rounds, {runs['tagsmith'][0]['jobs']:,} no-op jobs, SQLite file | tagsmith | plainjob 1 proc | plainjob 2 procs | tagsmith / best plainjob |")
print("|---|---|---|---|---|")
print(f"| bulk enqueue, jobs/s | {t['enqueue_per_sec']:,.0f} | {p1['enqueue_per_sec']:,.0f} | {p2['enqueue_per_sec']:,.0f} | {t['enqueue_per_sec'] / best_enq:.2f}x |")
print(f"| burn-down, jobs/s | {t['process_per_sec']:,.0f} | {p1['process_per_sec']:,.0f} | {p2['process_per_sec']:,.0f} | {t['process_per_sec'] / best_proc:.2f}x |")
print(f"| idle pickup p50 / p99, ms | {t['p50_ms']:.2f} / {t['p99_ms']:.2f} | {p1['p50_ms']:.2f} / {p1['p99_ms']:.2f} | {p2['p50_ms']:.2f} / {p2['p99_ms']:.2f} | |")
PY
