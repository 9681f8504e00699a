"""Quick start for Python hosts. Run after `bindings/python/test.sh` (it installs `tagsmith` into
the cached virtualenv): `~/.cache/tagsmith/venv/bin/python examples/python/quickstart.py`."""

import tempfile
from pathlib import Path

import tagsmith

with tempfile.TemporaryDirectory() as d, tagsmith.Engine.open(Path(d) / "quickstart.db") as engine:
    acme = engine.create_tenant("Acme Agency")
    shop = engine.customers(acme.id).create(name="Shop", website_url="https://shop.example")
    buy = engine.trackings(acme.id).create(
        customer_id=shop.id, name="Buy", kind="button_click", selector="button.buy", ga4_event="add_to_cart"
    )
    print(f"tracking {buy.name} ({buy.id}) is {buy.sync_status}")
    try:
        engine.trackings(acme.id).create(customer_id=shop.id, name="Bad", kind="page_view")
    except tagsmith.InvalidInputError as e:
        assert [f.field for f in e.fields] == ["url_rule"]
        print(f"refused: {e.code} {[f.field for f in e.fields]}")
    rival = engine.create_tenant("Rival")
    try:
        engine.trackings(rival.id).get(buy.id)
        raise SystemExit("another tenant read the tracking")
    except tagsmith.NotFoundError:
        print("another tenant gets not_found")
    for ev in engine.events(acme.id).events:
        print(f"event #{ev.seq}: {ev.entity} {ev.action} {ev.id}")
