#!/usr/bin/env bash
# The queue bench on PostgreSQL, side by side in one run: `tagsmith jobs bench --db postgres://…`
# (release build, a throwaway schema) against graphile-worker (its batched configuration from
# its performance.md, 1 and 2 worker processes) and pg-boss (batchSize 500), all on the same
# local PostgreSQL (started by scripts/postgres.sh unless TAGSMITH_TEST_POSTGRES names one).
# Each side runs ROUNDS times (default 3), interleaved; the table shows medians and ratios.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${JOBS:-50000}
concurrency=${CONCURRENCY:-100}
rounds=${ROUNDS:-3}
url=$(scripts/postgres.sh)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cargo build --quiet --release -p tagsmith-cli
(cd bench/pgqueues && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error >&2; })
for round in $(seq "$rounds"); do
  echo "==> round $round/$rounds: tagsmith ($jobs no-op jobs, concurrency $concurrency)" >&2
  "${CARGO_TARGET_DIR:-target}/release/tagsmith" --db "$url" --json jobs bench --jobs "$jobs" --concurrency "$concurrency" | tail -1 >>"$out/tagsmith.jsonl"
  echo "==> round $round/$rounds: graphile-worker (1 and 2 processes)" >&2
  node bench/pgqueues/bench.mjs --peer graphile --url "$url" --jobs "$jobs" --procs 1 | tail -1 >>"$out/graphile1.jsonl"
  node bench/pgqueues/bench.mjs --peer graphile --url "$url" --jobs "$jobs" --procs 2 | tail -1 >>"$out/graphile2.jsonl"
  echo "==> round $round/$rounds: pg-boss" >&2
  node bench/pgqueues/bench.mjs --peer pgboss --url "$url" --jobs "$jobs" --procs 1 --latency 20 | tail -1 >>"$out/pgboss1.jsonl"
done

python3 - "$out" <<'PY'
import json, statistics, sys, pathlib
d = pathlib.Path(sys.argv[1])
names = ("tagsmith", "graphile1", "graphile2", "pgboss1")
runs = {n: [json.loads(l) for l in (d / f"{n}.jsonl").read_text().splitlines() if l.strip()] for n in names}
for n, rs in runs.items():
    for r in rs:
        print(json.dumps({"side": n, **r}))
med = {n: {k: statistics.median(r[k] for r in rs) for k in ("enqueue_per_sec", "process_per_sec", "p50_ms", "p99_ms")}
       for n, rs in runs.items()}
t = med["tagsmith"]
best_g = max(med["graphile1"]["process_per_sec"], med["graphile2"]["process_per_sec"])
best_ge = max(med["graphile1"]["enqueue_per_sec"], med["graphile2"]["enqueue_per_sec"])
p = med["pgboss1"]
print()
print(f"| medians of {len(runs['tagsmith'])} rounds, {runs['tagsmith'][0]['jobs']:,} no-op jobs, local PostgreSQL | tagsmith | graphile-worker 1 proc | 2 procs | pg-boss | tagsmith / best graphile | tagsmith / pg-boss |")
print("|---|---|---|---|---|---|---|")
print(f"| bulk enqueue, jobs/s | {t['enqueue_per_sec']:,.0f} | {med['graphile1']['enqueue_per_sec']:,.0f} | {med['graphile2']['enqueue_per_sec']:,.0f} | {p['enqueue_per_sec']:,.0f} | {t['enqueue_per_sec'] / best_ge:.2f}x | {t['enqueue_per_sec'] / p['enqueue_per_sec']:.2f}x |")
print(f"| burn-down, jobs/s | {t['process_per_sec']:,.0f} | {med['graphile1']['process_per_sec']:,.0f} | {med['graphile2']['process_per_sec']:,.0f} | {p['process_per_sec']:,.0f} | {t['process_per_sec'] / best_g:.2f}x | {t['process_per_sec'] / p['process_per_sec']:.2f}x |")
print(f"| idle pickup p50 / p99, ms | {t['p50_ms']:.2f} / {t['p99_ms']:.2f} | {med['graphile1']['p50_ms']:.2f} / {med['graphile1']['p99_ms']:.2f} | {med['graphile2']['p50_ms']:.2f} / {med['graphile2']['p99_ms']:.2f} | {p['p50_ms']:.2f} / {p['p99_ms']:.2f} | | |")
PY
