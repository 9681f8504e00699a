"""The job queue from Python: enqueue/list/get/retry/cancel/stats and Python handlers (sync and
async) run by a worker on a real SQLite file."""

import datetime
import threading

import pytest

import tagsmith


@pytest.fixture
def engine(tmp_path):
    with tagsmith.Engine.open(tmp_path / "jobs.db") as e:
        yield e


def test_enqueue_list_get_and_typed_errors(engine):
    jobs = engine.jobs()
    first = jobs.enqueue("send_report", {"to": "ops@acme.example"}, priority=3, unique_key="r:1")
    assert first["duplicate"] is False
    again = jobs.enqueue("send_report", {"to": "someone else"}, unique_key="r:1")
    assert again == {"id": first["id"], "duplicate": True}
    job = jobs.get(first["id"])
    assert (job["kind"], job["args"], job["priority"], job["state"]) == (
        "send_report", {"to": "ops@acme.example"}, 3, "available")
    assert isinstance(job["created_at"], datetime.datetime) and job["created_at"].tzinfo is not None
    assert [j["id"] for j in jobs.list(state="available")] == [first["id"]]
    assert jobs.stats()["available"] == 1

    with pytest.raises(tagsmith.InvalidInputError) as e:
        jobs.enqueue("bad kind!", priority=12)
    assert {f.field for f in e.value.fields} == {"kind", "priority"}
    with pytest.raises(tagsmith.InvalidInputError) as e:
        jobs.enqueue("x", run_at="tomorrow")
    assert e.value.fields[0].field == "run_at"
    with pytest.raises(tagsmith.NotFoundError):
        jobs.get(999_999)
    with pytest.raises(tagsmith.InvalidInputError):
        jobs.get(-1)
    with pytest.raises(tagsmith.NotFoundError):
        jobs.enqueue("x", tenant_id="ten_nobody")

    # One bad item is answered on its own; the good ones are added.
    out = jobs.enqueue_many([{"kind": "noop"}, {"kind": "noop", "priority": -1}, {"kind": "noop"}])
    assert "id" in out[0] and "id" in out[2]
    assert out[1]["error"]["code"] == "invalid_input"
    assert out[1]["error"]["fields"][0]["field"] == "jobs[1].priority"

    cancelled = jobs.cancel(first["id"])
    assert cancelled["state"] == "cancelled"
    with pytest.raises(tagsmith.ConflictError):
        jobs.cancel(first["id"])
    assert jobs.retry(first["id"])["state"] == "available"


def test_python_handlers_run_retry_and_fail_their_attempt_only(engine):
    tenant = engine.create_tenant("Acme")
    jobs = engine.jobs()
    seen = []
    calls = {"flaky": 0}
    lock = threading.Lock()

    def record(job):
        with lock:
            seen.append((job["kind"], job["args"]["n"], job["attempt"]))

    async def record_async(job):
        import asyncio
        await asyncio.sleep(0.001)
        record(job)

    def flaky(job):
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise RuntimeError("upstream said 503")
        record(job)

    for n in range(5):
        jobs.enqueue("record", {"n": n}, tenant_id=tenant.id)
    jobs.enqueue("record_async", {"n": 10})
    flaky_id = jobs.enqueue("flaky", {"n": 20})["id"]
    jobs.enqueue("nobody_handles_this", {"n": 30})

    worker = engine.worker(max_backoff_ms=10, poll_ms=50)
    worker.register("record", record)
    worker.register("record_async", record_async)
    worker.register("flaky", flaky)
    with pytest.raises(tagsmith.InvalidInputError):
        worker.register("x", "not callable")
    report = worker.run_until_idle()
    assert report["completed"] == 7 and report["retried"] == 1 and report["discarded"] == 1, report
    assert sorted(n for _, n, _ in seen) == [0, 1, 2, 3, 4, 10, 20]
    flaky_job = jobs.get(flaky_id)
    assert flaky_job["attempt"] == 2
    assert flaky_job["errors"][0]["message"] == "RuntimeError: upstream said 503"
    assert isinstance(flaky_job["errors"][0]["at"], datetime.datetime)
    assert jobs.stats(tenant.id)["completed"] == 5
    # The tenant's log has its jobs' state changes.
    states = [e.job_state for e in engine.events(tenant.id).events if e.entity == "job"]
    assert states.count("completed") == 5
    with pytest.raises(tagsmith.ConflictError):
        worker.run_until_idle()


def test_a_started_worker_runs_in_the_background_and_shuts_down(engine):
    done = threading.Event()
    worker = engine.worker(poll_ms=20)
    worker.register("ping", lambda job: done.set())
    worker.start()
    engine.jobs().enqueue("ping")
    assert done.wait(10)
    report = worker.shutdown(deadline_ms=2000)
    assert report["completed"] == 1
    assert engine.jobs().stats()["completed"] == 1


def test_bad_worker_options_name_the_field(engine):
    with pytest.raises(tagsmith.InvalidInputError) as e:
        engine.worker(lease_ms=120_000)
    assert e.value.fields[0].field == "lease_ms"
    w = engine.worker()
    with pytest.raises(tagsmith.InvalidInputError) as e:
        w.periodic("nightly", "61 * * * *", "noop")
    assert e.value.fields[0].field == "cron"


def test_a_handler_reports_progress_with_the_job_it_was_given(engine):
    tenant = engine.create_tenant("Acme")
    jobs = engine.jobs()
    job_id = jobs.enqueue("crawl", tenant_id=tenant.id)["id"]
    problems = []

    def crawl(job):
        jobs.progress(job, 40, "page 4 of 10")
        try:
            jobs.progress(job, 140)
        except tagsmith.InvalidInputError as e:
            problems.append(e.fields[0].field)

    worker = engine.worker(poll_ms=20)
    worker.register("crawl", crawl)
    assert worker.run_until_idle()["completed"] == 1
    assert problems == ["percent"]
    done = jobs.get(job_id)
    assert done["progress"] == {"percent": 40, "message": "page 4 of 10"}
    # Outside its attempt, the job is no longer held.
    with pytest.raises(tagsmith.InvalidInputError):
        jobs.progress(done, 50)  # finished: no lease owner any more
    kinds = [(e.action, e.job_state) for e in engine.events(tenant.id).events if e.entity == "job"]
    assert ("updated", "running") in kinds
