"""The asyncio twins: every engine call has an ``a…`` twin returning an awaitable bridged to the
engine's Rust future (no executor thread per call), with the same results and typed errors."""

import asyncio
import threading

import pytest

import tagsmith


def run(coro):
    return asyncio.run(coro)


async def _walk(engine):
    """One of each twin on `engine`; returns what a test checks."""
    t = await engine.acreate_tenant("Async")
    assert isinstance(t, tagsmith.Tenant)
    assert (await engine.aget_tenant(t.id)).name == "Async"
    customers = engine.customers(t.id)
    shop = await customers.acreate(name="Shop", website_url="https://shop.example")
    assert (await customers.aget(shop.id)).id == shop.id
    updated = await customers.aupdate(shop.id, version=1, name="Shop 2")
    assert updated.version == 2
    trackings = engine.trackings(t.id)
    tr = await trackings.acreate(customer_id=shop.id, name="Buy", kind="button_click", selector="#buy")
    page = await trackings.alist(customer_id=shop.id)
    assert [x.id for x in page] == [tr.id] and page.total == 1
    # Many at once on one event loop: each is its own future.
    got = await asyncio.gather(*(customers.aget(shop.id) for _ in range(50)))
    assert {c.name for c in got} == {"Shop 2"}
    deleted = await trackings.adelete(tr.id)
    assert deleted.sync_status == "deleted"
    events = await engine.aevents(t.id, entity="tracking")
    assert [e.action for e in events.events] == ["created", "deleted"]
    jobs = engine.jobs()
    added = await jobs.aenqueue("noop", {"n": 1}, tenant_id=t.id)
    assert (await jobs.aget(added["id"]))["state"] == "available"
    many = await jobs.aenqueue_many([{"kind": "noop"}, {"kind": ""}])
    assert "id" in many[0] and many[1]["error"]["code"] == "invalid_input"
    assert (await jobs.astats(t.id))["available"] == 1
    report = await engine.worker().arun_until_idle()
    assert report["completed"] == 2
    assert [j["state"] for j in await jobs.alist(tenant_id=t.id)] == ["completed"]
    return t


def test_every_twin_answers_like_its_sync_method():
    with tagsmith.Engine.in_memory() as engine:
        t = run(_walk(engine))
        assert engine.customers(t.id).list().total == 1


def test_aopen_opens_a_file(tmp_path):
    async def main():
        engine = await tagsmith.Engine.aopen(tmp_path / "a.db")
        try:
            assert engine.backend == "sqlite"
            await _walk(engine)
        finally:
            engine.close()

    run(main())


def test_bad_arguments_raise_typed_errors_when_awaited():
    async def main(engine):
        t = await engine.acreate_tenant("Errors")
        # Built at once, raised by await, as a coroutine would.
        pending = engine.customers(t.id).acreate(name="", website_url="ftp://x")
        with pytest.raises(tagsmith.InvalidInputError) as info:
            await pending
        assert {f.field for f in info.value.fields} == {"name", "website_url"}
        with pytest.raises(tagsmith.NotFoundError):
            await engine.customers(t.id).aget("cus_nope")
        with pytest.raises(tagsmith.InvalidInputError) as info:
            await engine.aevents(t.id, entity="planet")
        assert info.value.fields[0].field == "entity"
        with pytest.raises(tagsmith.InvalidInputError) as info:
            await engine.jobs().aget("x")
        assert info.value.fields[0].field == "id"
        with pytest.raises(tagsmith.InvalidInputError):
            await tagsmith.Engine.aopen(42)

    with tagsmith.Engine.in_memory() as engine:
        run(main(engine))


def test_the_event_loop_is_not_blocked_and_no_thread_per_call():
    """While 200 calls are in flight the loop keeps running its own tasks, and the process does
    not grow a thread per call (the futures share one small runtime)."""

    async def main(engine):
        t = await engine.acreate_tenant("Loop")
        customers = engine.customers(t.id)
        shop = await customers.acreate(name="Shop", website_url="https://shop.example")
        await customers.aget(shop.id)  # the runtime's threads exist from here on
        before = threading.active_count()
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.gather(*(customers.aget(shop.id) for _ in range(200)))
        task.cancel()
        assert ticks > 0
        assert threading.active_count() <= before + 2

    with tagsmith.Engine.in_memory() as engine:
        run(main(engine))
