"""The engine on PostgreSQL from Python: `Engine.open("postgres://…")` works from the plain
wheel, jobs run there, and a refused login is a typed error without the password. The server is
the one `TAGSMITH_TEST_POSTGRES` names (scripts/test.sh starts the local one)."""

import asyncio
import os

import pytest

import tagsmith
from test_async import _walk


class Url(str):
    """The server's URL, shown without its password in pytest's reports."""

    def __repr__(self):
        scheme, rest = self.split("://", 1)
        return repr(f"{scheme}://***@{rest.rsplit('@', 1)[-1]}")


@pytest.fixture
def url():
    value = os.environ.get("TAGSMITH_TEST_POSTGRES")
    if not value:
        pytest.fail("TAGSMITH_TEST_POSTGRES is not set: run ./scripts/test.sh, or export "
                    "TAGSMITH_TEST_POSTGRES=$(./scripts/postgres.sh)")
    return Url(value)


def test_records_and_jobs_on_postgres(url):
    with tagsmith.Engine.open(url) as engine:
        assert engine.backend == "postgres"
        tenant = engine.create_tenant("Python on PostgreSQL ✓")
        shop = engine.customers(tenant.id).create(name="Shop", website_url="https://shop.example")
        assert engine.customers(tenant.id).get(shop.id).name == "Shop"
        added = engine.jobs().enqueue("noop", {"from": "python"}, tenant_id=tenant.id)
        assert engine.jobs().get(added["id"])["state"] == "available"
        seen = engine.events(tenant.id, after=0)
        assert [e.entity for e in seen.events][-1] == "job"


def test_a_refused_login_is_unauthorized_without_the_password(url):
    scheme, rest = url.split("://", 1)
    host = rest.split("@", 1)[1]
    bad = f"{scheme}://tagsmith:not-the-password-77@{host}"
    with pytest.raises(tagsmith.TagsmithError) as caught:
        tagsmith.Engine.open(bad)
    assert caught.value.code == "unauthorized"
    assert "not-the-password-77" not in str(caught.value)


def test_the_asyncio_twins_on_postgres(url):
    async def main():
        engine = await tagsmith.Engine.aopen(url, schema="t_py_async")
        try:
            assert engine.backend == "postgres"
            await _walk(engine)
        finally:
            engine.close()

    asyncio.run(main())
