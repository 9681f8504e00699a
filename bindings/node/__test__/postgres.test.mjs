// The engine on PostgreSQL from Node: `Engine.open('postgres://…')` works from the plain
// addon, jobs run there, and a refused login is a typed error without the password. The server
// is the one TAGSMITH_TEST_POSTGRES names (scripts/test.sh starts the local one).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Engine } from './helpers.mjs';

const url = process.env.TAGSMITH_TEST_POSTGRES;

test('records and jobs on PostgreSQL', async () => {
  assert.ok(url, 'TAGSMITH_TEST_POSTGRES is not set: run ./scripts/test.sh, or export TAGSMITH_TEST_POSTGRES=$(./scripts/postgres.sh)');
  const engine = await Engine.open(url);
  try {
    assert.equal(engine.backend, 'postgres');
    const tenant = await engine.createTenant('Node on PostgreSQL ✓');
    const shop = await engine.customers(tenant.id).create({ name: 'Shop', websiteUrl: 'https://shop.example' });
    assert.equal((await engine.customers(tenant.id).get(shop.id)).name, 'Shop');
    const added = await engine.jobs().enqueue('noop', { from: 'node' }, { tenantId: tenant.id });
    assert.equal((await engine.jobs().get(added.id)).state, 'available');
    const log = engine.events(tenant.id, 0);
    assert.equal(log.events.at(-1).entity, 'job');
  } finally {
    engine.close();
  }
});

test('a refused login is unauthorized without the password', async () => {
  assert.ok(url, 'TAGSMITH_TEST_POSTGRES is not set');
  const [scheme, rest] = url.split('://');
  const bad = `${scheme}://tagsmith:not-the-password-77@${rest.split('@')[1]}`;
  await assert.rejects(Engine.open(bad), (e) => {
    assert.equal(e.code, 'unauthorized');
    assert.ok(!String(e.message).includes('not-the-password-77'));
    return true;
  });
});
