"""Time one `get` through the Python binding (SQLite file engine); prints one JSON line.

The Rust figure for the same call comes from `tagsmith bench` in the same run
(scripts/bench.sh), so the difference is the binding's overhead.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import tagsmith

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000

with tempfile.TemporaryDirectory() as d, tagsmith.Engine.open(Path(d) / "bench.db") as engine:
    t = engine.create_tenant("Bench")
    c = engine.customers(t.id).create(name="Shop", website_url="https://shop.example")
    trackings = engine.trackings(t.id)
    # The same record the Rust and Node benches read.
    tr = trackings.create(
        customer_id=c.id,
        name="Buy",
        kind="button_click",
        selector="button.buy",
        ga4_event="add_to_cart",
        ga4_params={"item_id": "sku-1"},
    )
    for _ in range(1000):  # warm up
        trackings.get(tr.id)
    start = time.perf_counter()
    for _ in range(N):
        trackings.get(tr.id)
    get_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(N):
        engine.backend  # a native attribute: the floor of any call into the binding
    floor_s = time.perf_counter() - start
    print(json.dumps({"runtime": "python", "calls": N, "get_us": get_s * 1e6 / N, "floor_call_us": floor_s * 1e6 / N}))
