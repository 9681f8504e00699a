#!/usr/bin/env bash
# Change-event latency across processes: one process follows a tenant's log
# (`tagsmith events --follow`), another commits changes (one `tagsmith customers create` per
# event); latency = the event's time (taken by the writer just before its commit) → the line
# read from the follower. On PostgreSQL (woken by NOTIFY) and on a SQLite file (polled every
# 200 ms), same machine, same run. Prints p50/p99 per backend.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
events=${EVENTS:-100}
url=$(scripts/postgres.sh)
cargo build --quiet --release -p tagsmith-cli
bin="${CARGO_TARGET_DIR:-target}/release/tagsmith"
python3 - "$bin" "$url" "$events" <<'PY'
import json, os, queue, statistics, subprocess, sys, tempfile, threading, time
from datetime import datetime

binary, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

def run(db, extra, *args):
    out = subprocess.run([binary, "--json", "--db", db, *extra, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)

def measure(name, db, extra):
    tenant = run(db, extra, "tenants", "create", "Latency")["id"]
    follower = subprocess.Popen([binary, "--json", "--db", db, *extra, "events", "--tenant", tenant, "--follow"],
                                stdout=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put((time.time(), l)) for l in follower.stdout], daemon=True).start()
    lines.get(timeout=30)  # the tenant's own event: the follower is up
    lat = []
    for i in range(n):
        run(db, extra, "customers", "create", "--tenant", tenant, "--name", f"Shop {i}", "--website-url", "https://shop.example")
        seen, line = lines.get(timeout=30)
        e = json.loads(line)
        at = datetime.fromisoformat(e["at"].replace("Z", "+00:00")).timestamp()
        lat.append((seen - at) * 1000)
        time.sleep(0.02)
    follower.terminate()
    follower.wait()
    lat.sort()
    pct = lambda p: lat[round((len(lat) - 1) * p)]
    print(json.dumps({"backend": name, "events": n, "p50_ms": round(pct(0.5), 2), "p99_ms": round(pct(0.99), 2)}))

with tempfile.TemporaryDirectory() as d:
    measure("sqlite (polling 200 ms)", os.path.join(d, "events.db"), [])
schema = f"bench_events_{os.getpid()}"
measure("postgres (NOTIFY)", url, ["--schema", schema])
PY
