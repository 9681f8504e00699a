"""The Python surface beyond the vectors: exceptions, attribute objects, files, threads."""

import sqlite3
import threading

import pytest

import tagsmith


@pytest.fixture
def engine():
    with tagsmith.Engine.in_memory() as e:
        yield e


def _shop(engine):
    t = engine.create_tenant("Acme")
    c = engine.customers(t.id).create(name="Shop", website_url="https://shop.example")
    return t, c


def test_results_are_objects_with_attributes(engine):
    t, c = _shop(engine)
    tr = engine.trackings(t.id).create(
        customer_id=c.id,
        name="Thanks",
        kind="page_view",
        url_rule={"match": "starts_with", "value": "https://shop.example/thanks"},
        ads={"category": "purchase", "value": 9.5, "currency": "EUR"},
        ga4_params={"CamelKey": "v"},
    )
    assert isinstance(tr, tagsmith.Tracking) and not isinstance(tr, dict)
    assert tr.url_rule.match == "starts_with"
    assert tr.ads.value == 9.5 and tr.ads.currency == "EUR"
    assert tr.ga4_params == {"CamelKey": "v"}
    assert tr.sync_status == "pending" and tr.version == 1
    assert tr.created_at.tzinfo is not None and tr.created_at.utcoffset().total_seconds() == 0
    assert tr.to_dict()["created_at"].endswith("Z")  # RFC 3339 text only in JSON
    assert tr.to_dict()["url_rule"] == {"match": "starts_with", "value": "https://shop.example/thanks"}
    assert engine.trackings(t.id).get(tr.id) == tr
    page = engine.trackings(t.id).list(customer_id=c.id)
    assert (len(page), page.total, page.next_cursor) == (1, 1, None)
    assert [x.name for x in page] == ["Thanks"]


def test_errors_subclass_tagsmith_error_with_code_and_fields(engine):
    t, c = _shop(engine)
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.trackings(t.id).create(customer_id=c.id, name="x", kind="button_click", selector="div[")
    e = info.value
    assert isinstance(e, tagsmith.TagsmithError) and isinstance(e, ValueError)
    assert e.code == "invalid_input" and e.http_status == 422 and e.retryable is False
    assert [(f.field, f.value) for f in e.fields] == [("selector", "div[")]
    with pytest.raises(tagsmith.NotFoundError) as info:
        engine.customers(t.id).get("cus_missing")
    assert info.value.code == "not_found"


def test_wrong_python_types_are_invalid_input_naming_the_field(engine):
    t, c = _shop(engine)
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.customers(t.id).create(name=42, website_url="https://x.example")
    assert [f.field for f in info.value.fields] == ["name"]
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.trackings(t.id).create(customer_id=c.id, name="x", kind="scroll_depth", scroll_percent=object())
    assert [f.field for f in info.value.fields] == ["scroll_percent"]
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.customers(t.id).create(name="x", website_url="https://x.example", colour="red")
    assert [f.field for f in info.value.fields] == ["colour"]
    with pytest.raises(tagsmith.InvalidInputError):
        engine.create_tenant(None)
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.customers(t.id).get(42)
    assert info.value.fields[0].field == "id"
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.trackings(None)
    assert info.value.fields[0].field == "tenant_id"
    with pytest.raises(tagsmith.InvalidInputError) as info:
        tagsmith.Engine.open(3.5)
    assert info.value.fields[0].field == "path"
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.customers(t.id).delete(c.id, version="1")
    assert info.value.fields[0].field == "version"


def test_unicode_is_stored_byte_exact(tmp_path):
    name = "Café \"Ü\" 🚀 東京 'quoted'"
    with tagsmith.Engine.open(tmp_path / "u.db") as e:
        t = e.create_tenant(name)
    with tagsmith.Engine.open(tmp_path / "u.db") as e:
        assert e.get_tenant(t.id).name == name


def test_corrupt_and_newer_database_files_are_storage_errors(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 500)
    with pytest.raises(tagsmith.StorageError) as info:
        tagsmith.Engine.open(bad)
    assert "not a tagsmith database" in str(info.value)
    newer = tmp_path / "newer.db"
    tagsmith.Engine.open(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 42")
    with pytest.raises(tagsmith.StorageError) as info:
        tagsmith.Engine.open(newer)
    assert "42" in str(info.value)


def test_closed_engine_refuses_calls():
    e = tagsmith.Engine.in_memory()
    e.close()
    with pytest.raises(tagsmith.UnavailableError):
        e.create_tenant("late")


def test_threads_share_one_engine(tmp_path):
    with tagsmith.Engine.open(tmp_path / "t.db") as e:
        t, c = _shop(e)
        errors = []

        def work(n):
            try:
                for i in range(50):
                    e.trackings(t.id).create(customer_id=c.id, name=f"w{n}-{i}", kind="link_click", selector="a")
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        assert e.trackings(t.id).list(limit=1).total == 200


def test_change_events_are_numbered_per_tenant(engine):
    t, c = _shop(engine)
    batch = engine.events(t.id)
    assert [ev.entity for ev in batch.events] == ["tenant", "customer"]
    assert [ev.seq for ev in batch.events] == [1, 2]
    assert (batch.missed, batch.last_seq) == (0, 2)
    assert engine.events(t.id, after=1).events[0].id == c.id
    assert engine.events(t.id, after=2).events == []
    other = engine.create_tenant("Other")
    assert [ev.entity for ev in engine.events(other.id).events] == ["tenant"]
    ahead = engine.events(t.id, after=10_000)
    assert ahead.reset and ahead.events == [] and ahead.last_seq == 2
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.events(t.id, after=-1)
    assert info.value.fields[0].field == "after"


def test_the_activity_log_names_actors_and_filters(engine):
    from datetime import datetime, timedelta, timezone

    t, c = _shop(engine)
    alice = engine.acting_as("user:alice")
    assert (alice.actor, engine.actor) == ("user:alice", None)
    alice.customers(t.id).update(c.id, version=1, name="Shop 2")
    tr = alice.trackings(t.id).create(customer_id=c.id, name="Buy", kind="button_click", selector="#buy")
    log = engine.events(t.id)
    assert [ev.actor for ev in log.events] == [None, None, "user:alice", "user:alice"]
    history = engine.events(t.id, id=c.id)
    assert [ev.seq for ev in history.events] == [2, 3] and history.last_seq == 4
    assert [ev.id for ev in engine.events(t.id, actor="user:alice", entity="tracking").events] == [tr.id]
    now = datetime.now(timezone.utc)
    assert len(engine.events(t.id, since=now - timedelta(hours=1)).events) == 4
    assert engine.events(t.id, until=now - timedelta(hours=1)).events == []
    assert len(engine.events(t.id, since="2000-01-01T00:00:00Z").events) == 4
    for kwargs, field in [
        ({"entity": "planet"}, "entity"),
        ({"since": datetime(2026, 1, 1)}, "since"),
        ({"nope": 1}, "nope"),
        ({"since": now, "until": now - timedelta(days=1)}, "until"),
    ]:
        with pytest.raises(tagsmith.InvalidInputError) as info:
            engine.events(t.id, **kwargs)
        assert info.value.fields[0].field == field, kwargs
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.acting_as("")
    assert info.value.fields[0].field == "actor"


def test_self_referencing_or_deep_input_is_invalid_input_not_a_crash(engine):
    t, c = _shop(engine)
    cyclic = {}
    cyclic["a"] = cyclic
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.trackings(t.id).create(customer_id=c.id, name="x", kind="button_click", selector="a", ga4_params=cyclic)
    assert info.value.fields[0].field.startswith("ga4_params")
    deep = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(tagsmith.InvalidInputError):
        engine.customers(t.id).create(name=deep, website_url="https://x.example")


def test_a_panic_is_internal_error_not_panic_exception():
    from tagsmith import _tagsmith

    with pytest.raises(tagsmith.InternalError) as info:
        _tagsmith._panic_for_tests()
    assert info.value.code == "internal" and "deliberate panic" in info.value.message


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused_naming_the_field(engine, bad):
    t, c = _shop(engine)
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.trackings(t.id).create(
            customer_id=c.id, name="x", kind="button_click", selector="a",
            ads={"category": "purchase", "value": bad, "currency": "EUR"},
        )
    assert [f.field for f in info.value.fields] == ["ads.value"]


def test_every_record_class_and_attribute_has_a_docstring():
    for cls in (tagsmith.Tenant, tagsmith.Customer, tagsmith.Tracking, tagsmith.UrlRule,
                tagsmith.AdsConversion, tagsmith.ChangeEvent, tagsmith.EventBatch, tagsmith.Page):
        assert cls.__doc__, cls
        for name in dir(cls):
            if not name.startswith("_"):
                assert getattr(cls, name).__doc__, f"{cls.__name__}.{name}"


def test_every_class_and_method_has_a_docstring():
    for cls in (tagsmith.Engine, tagsmith.Customers, tagsmith.Trackings):
        assert cls.__doc__, cls
        for name in ("create", "get", "list", "update", "delete") if cls is not tagsmith.Engine else (
            "open", "in_memory", "create_tenant", "get_tenant", "list_tenants", "customers", "trackings", "events", "close",
        ):
            assert getattr(cls, name).__doc__, f"{cls.__name__}.{name}"


def test_reprs_show_plain_values(engine):
    t, _ = _shop(engine)
    ev = engine.events(t.id).events[0]
    assert repr(ev).startswith('ChangeEvent(seq=1, entity="tenant"'), repr(ev)
    assert "String(" not in repr(ev)


def test_an_unknown_kind_does_not_hide_other_bad_fields(engine):
    t, c = _shop(engine)
    with pytest.raises(tagsmith.InvalidInputError) as info:
        engine.trackings(t.id).create(customer_id=c.id, name="", kind="nope", selector="button[")
    assert [f.field for f in info.value.fields] == ["kind", "name", "selector"]


def test_open_takes_engine_options_and_checks_them(tmp_path):
    with tagsmith.Engine.open(tmp_path / "o.db", event_retention={"max_events": 3}, busy_timeout_ms=100) as engine:
        t = engine.create_tenant("Small log")
        for i in range(40):
            engine.customers(t.id).create(name=f"S{i}", website_url="https://s.example")
        batch = engine.events(t.id)
        assert batch.missed > 0 and batch.last_seq == 41
    with pytest.raises(tagsmith.InvalidInputError) as info:
        tagsmith.Engine.open(tmp_path / "p.db", event_retention={"max_events": 0})
    assert [f.field for f in info.value.fields] == ["event_retention.max_events"]
    with pytest.raises(tagsmith.InvalidInputError) as info:
        tagsmith.Engine.open(tmp_path / "q.db", retention=5)
    assert info.value.fields[0].field == "retention"
