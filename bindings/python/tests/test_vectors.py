"""Run the shared conformance vectors (tests/vectors/*.json) through the Python binding."""

import json
import pathlib

import pytest

import tagsmith

VECTORS = sorted((pathlib.Path(__file__).parents[3] / "tests" / "vectors").glob("*.json"))


def test_vectors_are_found():
    assert len(VECTORS) >= 3


def _canon(value):
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    return json.dumps(value, sort_keys=True)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_vector(path, backend, tmp_path):
    vector = json.loads(path.read_text(encoding="utf-8"))
    engine = tagsmith.Engine.in_memory() if backend == "memory" else tagsmith.Engine.open(tmp_path / "v.db")
    saved = {}
    cursor = None

    def id_of(name):
        # The id of the record saved as `name`; `=literal` is a literal id. Any other name is a
        # mistake in the vector, never silently used as an id.
        if name == "":
            return ""  # the step has no such key
        if name.startswith("="):
            return name[1:]
        assert name in saved, f'the vector names "{name}", which no earlier step saved (write "={name}" for a literal id)'
        record = saved[name]
        return record["id"] if isinstance(record, dict) else record.id  # jobs are dicts

    def resolve(v):
        if v == "$cursor":
            return cursor
        if isinstance(v, str) and v.startswith("$"):
            return id_of(v[1:])
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return v

    with engine:
        for i, step in enumerate(vector["steps"]):
            where = f"{path.name} step {i} ({step['op']})"
            op = step["op"]
            tenant = id_of(step.get("tenant", ""))
            rid = id_of(step.get("id", ""))
            args = resolve(step.get("args", {}))
            expect = step.get("expect", {"ok": {}})
            customers, trackings, jobs = engine.customers(tenant), engine.trackings(tenant), engine.jobs()
            calls = {
                "create_tenant": lambda: engine.create_tenant(args["name"]),
                "get_tenant": lambda: engine.get_tenant(rid),
                "create_customer": lambda: customers.create(**args),
                "get_customer": lambda: customers.get(rid),
                "list_customers": lambda: customers.list(**args),
                "update_customer": lambda: customers.update(rid, **args),
                "delete_customer": lambda: customers.delete(rid, **args),
                "create_tracking": lambda: trackings.create(**args),
                "get_tracking": lambda: trackings.get(rid),
                "list_trackings": lambda: trackings.list(**args),
                "update_tracking": lambda: trackings.update(rid, **args),
                "delete_tracking": lambda: trackings.delete(rid, **args),
                "enqueue_job": lambda: jobs.enqueue(**args),
                "get_job": lambda: jobs.get(rid),
                "cancel_job": lambda: jobs.cancel(rid),
                "retry_job": lambda: jobs.retry(rid),
                "job_stats": lambda: jobs.stats(**args),
                "run_jobs": lambda: engine.worker(max_backoff_ms=10, poll_ms=50).run_until_idle(),
            }
            try:
                result = calls[op]()
            except tagsmith.TagsmithError as e:
                assert "error" in expect, f"{where}: expected success, got {e.code}: {e}"
                assert e.code == expect["error"], f"{where}: {e}"
                assert type(e) is tagsmith.errors.BY_CODE[e.code]
                if "fields" in expect:
                    assert sorted(f.field for f in e.fields) == sorted(expect["fields"]), f"{where}: {e}"
                continue
            assert "error" not in expect, f"{where}: expected {expect['error']}, got {result!r}"
            if op.startswith("list_"):
                cursor = result.next_cursor
                shown = {
                    "total": result.total,
                    "count": len(result.items),
                    "has_more": result.next_cursor is not None,
                    "names": [x.name for x in result.items],
                }
                for k, want in expect.get("ok", {}).items():
                    assert shown[k] == want, f"{where}: {k}={shown[k]!r}, want {want!r}"
            else:
                for k, want in expect.get("ok", {}).items():
                    got = result[k] if isinstance(result, dict) else getattr(result, k)
                    assert _canon(got) == _canon(want), f"{where}: {k}={got!r}"
            if "save" in step:
                saved[step["save"]] = result
