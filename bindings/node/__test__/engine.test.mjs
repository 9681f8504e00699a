// The Node binding's own contract: error objects, argument checking, files, Unicode, closing.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';

import { Engine, scratchDir } from './helpers.mjs';

const dir = scratchDir();

/** Assert `err` is a tagsmith error with `code` (and exactly these field paths, if given). */
function assertTagsmithError(err, code, fields) {
  assert.ok(err instanceof Error, `not an Error: ${err}`);
  assert.equal(err.code, code, err.message);
  assert.ok(Array.isArray(err.fields));
  assert.equal(typeof err.httpStatus, 'number');
  assert.equal(typeof err.retryable, 'boolean');
  if (fields) assert.deepEqual(err.fields.map((f) => f.field).sort(), [...fields].sort());
  return true;
}

/** Assert `fn` throws a tagsmith error with `code` (and exactly these field paths, if given). */
function assertCode(fn, code, fields) {
  assert.throws(fn, (err) => assertTagsmithError(err, code, fields));
}

function setup() {
  const engine = Engine.inMemory();
  const tenant = engine.createTenantSync('Acme');
  const customers = engine.customers(tenant.id);
  const shop = customers.createSync({ name: 'Shop', websiteUrl: 'https://shop.example' });
  return { engine, tenant, customers, trackings: engine.trackings(tenant.id), shop };
}

describe('errors', () => {
  test('handles are returned synchronously', () => {
    const { engine, tenant } = setup();
    const handle = engine.trackings(tenant.id);
    assert.equal(typeof handle.then, 'undefined');
    assert.equal(typeof handle.getSync, 'function');
  });

  test('wrong-type option is invalid_input naming the field (Sync and Promise)', async () => {
    const { customers } = setup();
    const bad = { name: 42, websiteUrl: 'https://x.example' };
    assert.throws(() => customers.createSync(bad), (e) => assertTagsmithError(e, 'invalid_input', ['name']));
    await assert.rejects(customers.create(bad), (e) => assertTagsmithError(e, 'invalid_input', ['name']));
    const [field] = (await customers.create(bad).catch((e) => e)).fields;
    assert.equal(field.value, '42');
    assert.match(field.reason, /string/);
  });

  test('field paths are camelCase, ga4Params keys stay as given', async () => {
    const { trackings, shop } = setup();
    const opts = { customerId: shop.id, name: 'Visit', kind: 'page_view', urlRule: { match: 'nope', value: '/x' } };
    assert.throws(() => trackings.createSync(opts), (e) => assertTagsmithError(e, 'invalid_input', ['urlRule.match']));
    await assert.rejects(trackings.create(opts), (e) => assertTagsmithError(e, 'invalid_input', ['urlRule.match']));
    const unknownKey = { customerId: shop.id, name: 'Buy', kind: 'button_click', selector: 'a', scrollPercentage: 5 };
    assert.throws(() => trackings.createSync(unknownKey), (e) => assertTagsmithError(e, 'invalid_input', ['scrollPercentage']));
    const badParam = { customerId: shop.id, name: 'Buy', kind: 'button_click', selector: 'a', ga4Params: { my_key: 5 } };
    assert.throws(() => trackings.createSync(badParam), (e) => assertTagsmithError(e, 'invalid_input', ['ga4Params.my_key']));
  });

  test('createTenant with a non-string name is invalid_input naming name', async () => {
    const engine = Engine.inMemory();
    assert.throws(() => engine.createTenantSync(42), (e) => assertTagsmithError(e, 'invalid_input', ['name']));
    await assert.rejects(engine.createTenant({ name: 'x' }), (e) => assertTagsmithError(e, 'invalid_input', ['name']));
    assert.throws(() => engine.customers(7), (e) => assertTagsmithError(e, 'invalid_input', ['tenantId']));
  });

  test('unknown id is not_found with HTTP 404 (Sync and Promise)', async () => {
    const { engine, customers, trackings } = setup();
    for (const [sync, promise] of [
      [() => trackings.getSync('trk_nope'), () => trackings.get('trk_nope')],
      [() => customers.getSync('cus_nope'), () => customers.get('cus_nope')],
      [() => engine.getTenantSync('ten_nope'), () => engine.getTenant('ten_nope')],
    ]) {
      assert.throws(sync, (e) => assertTagsmithError(e, 'not_found', []) && e.httpStatus === 404);
      await assert.rejects(promise(), (e) => assertTagsmithError(e, 'not_found', []) && e.httpStatus === 404);
    }
  });

  test('a stale version is conflict; null clears an optional field', async () => {
    const { trackings, shop } = setup();
    const t = await trackings.create({ customerId: shop.id, name: 'Buy', kind: 'button_click', selector: 'a.buy', ga4Event: 'purchase' });
    const updated = await trackings.update(t.id, { version: 1, ga4Event: null });
    assert.equal(updated.ga4Event, null);
    assert.equal(updated.version, 2);
    await assert.rejects(trackings.update(t.id, { version: 1, name: 'Old' }), (e) => assertTagsmithError(e, 'conflict') && e.httpStatus === 409);
    assert.throws(() => trackings.deleteSync(t.id, { version: 1 }), (e) => assertTagsmithError(e, 'conflict'));
    assert.equal(trackings.deleteSync(t.id, { version: 2 }).syncStatus, 'deleted');
  });
});

describe('results', () => {
  test('plain objects with camelCase keys and RFC 3339 times', () => {
    const { trackings, shop } = setup();
    const t = trackings.createSync({
      customerId: shop.id, name: 'Buy', kind: 'button_click', selector: 'button.buy',
      ga4Event: 'add_to_cart', ga4Params: { item_id: 'sku-1' },
      ads: { category: 'add_to_cart', value: 9.5, currency: 'EUR' },
    });
    assert.equal(Object.getPrototypeOf(t), Object.prototype);
    assert.equal(t.customerId, shop.id);
    assert.deepEqual(t.ga4Params, { item_id: 'sku-1' });
    assert.deepEqual(t.ads, { category: 'add_to_cart', value: 9.5, currency: 'EUR' });
    assert.equal(t.syncStatus, 'pending');
    assert.ok(t.createdAt instanceof Date && !Number.isNaN(t.createdAt.getTime()));
    assert.ok(Math.abs(t.createdAt.getTime() - Date.now()) < 60_000, 'a UTC instant near now');
    assert.equal(t.lastSyncedAt, null);
    assert.deepEqual(t.externalIds, {});
    assert.deepEqual(trackings.getSync(t.id), t);
  });

  test('list pages with a cursor (Sync and Promise)', async () => {
    const { customers } = setup();
    customers.createSync({ name: 'Blog', websiteUrl: 'https://blog.example' });
    const first = customers.listSync({ limit: 1 });
    assert.equal(first.total, 2);
    assert.equal(first.items.length, 1);
    assert.equal(typeof first.nextCursor, 'string');
    const second = await customers.list({ limit: 1, cursor: first.nextCursor });
    assert.deepEqual(second.items.map((c) => c.name), ['Blog']);
    assert.equal(second.nextCursor, null);
    assert.equal((await customers.list()).total, 2);
  });

  test('Unicode names round-trip byte-exact', async () => {
    const path = join(dir, 'unicode.db');
    const names = ['Café "Ü" 🚀 東京', 'e\u0301 (decomposed)', 'é (composed)', "O'Brien & Söhne <b>", '👩‍👩‍👧 𝔘𝔫𝔦'];
    const engine = await Engine.open(path);
    const tenant = await engine.createTenant(names[0]);
    const ids = names.map((name) => engine.customers(tenant.id).createSync({ name, websiteUrl: 'https://x.example' }).id);
    engine.close();
    const reopened = Engine.openSync(path);
    assert.equal(Buffer.compare(Buffer.from(reopened.getTenantSync(tenant.id).name), Buffer.from(names[0])), 0);
    const got = await Promise.all(ids.map((id) => reopened.customers(tenant.id).get(id)));
    assert.deepEqual(got.map((c) => Buffer.from(c.name).toString('hex')), names.map((n) => Buffer.from(n).toString('hex')));
    reopened.close();
  });
});

describe('change events', () => {
  test('numbered per tenant, resumable, isolated', () => {
    const { engine, tenant, trackings, shop } = setup();
    const t = trackings.createSync({ customerId: shop.id, name: 'Buy', kind: 'button_click', selector: '#buy' });
    const batch = engine.events(tenant.id);
    assert.deepEqual(batch.events.map((e) => [e.seq, e.entity, e.action]), [
      [1, 'tenant', 'created'], [2, 'customer', 'created'], [3, 'tracking', 'created'],
    ]);
    assert.equal(batch.events[2].syncStatus, 'pending');
    assert.equal(batch.events[2].tenantId, tenant.id);
    assert.deepEqual([batch.missed, batch.lastSeq], [0, 3]);
    trackings.deleteSync(t.id);
    const next = engine.events(tenant.id, batch.lastSeq);
    assert.deepEqual(next.events.map((e) => [e.seq, e.action, e.syncStatus]), [[4, 'deleted', 'deleted']]);
    assert.equal(engine.events(tenant.id, 0, 1).events.length, 1);
    const other = engine.createTenantSync('Other');
    assert.deepEqual(engine.events(other.id).events.map((e) => e.id), [other.id]);
    assert.throws(() => engine.events(tenant.id, -1), (e) => assertTagsmithError(e, 'invalid_input', ['after']));
    const ahead = engine.events(tenant.id, 10_000);
    assert.deepEqual([ahead.reset, ahead.events.length, ahead.lastSeq], [true, 0, 4]);
  });

  test('the activity log names actors and filters', async () => {
    const { engine, tenant, shop } = setup();
    const alice = engine.actingAs('user:alice');
    assert.deepEqual([alice.actor, engine.actor], ['user:alice', null]);
    await alice.customers(tenant.id).update(shop.id, { version: 1, name: 'Shop 2' });
    const t = alice.trackings(tenant.id).createSync({ customerId: shop.id, name: 'Buy', kind: 'button_click', selector: '#buy' });
    const log = engine.events(tenant.id);
    assert.deepEqual(log.events.map((e) => e.actor), [null, null, 'user:alice', 'user:alice']);
    const history = engine.events(tenant.id, 0, 100, { id: shop.id });
    assert.deepEqual([history.events.map((e) => e.seq), history.lastSeq], [[2, 3], 4]);
    const mine = engine.events(tenant.id, undefined, undefined, { actor: 'user:alice', entity: 'tracking' });
    assert.deepEqual(mine.events.map((e) => e.id), [t.id]);
    const hourAgo = new Date(Date.now() - 3600_000);
    assert.equal(engine.events(tenant.id, 0, 100, { since: hourAgo }).events.length, 4);
    assert.equal(engine.events(tenant.id, 0, 100, { until: hourAgo.toISOString() }).events.length, 0);
    for (const [filter, field] of [
      [{ entity: 'planet' }, 'entity'],
      [{ since: 'yesterday' }, 'since'],
      [{ nope: 1 }, 'nope'],
      ['job', 'filter'],
    ]) {
      assert.throws(() => engine.events(tenant.id, 0, 10, filter), (e) => assertTagsmithError(e, 'invalid_input', [field]));
    }
    assert.throws(() => engine.actingAs(''), (e) => assertTagsmithError(e, 'invalid_input', ['actor']));
  });
});

describe('files and lifecycle', () => {
  test('a corrupt database file is storage (Promise and Sync)', async () => {
    const path = join(dir, 'corrupt.db');
    writeFileSync(path, Buffer.from('this is not a SQLite database, just garbage bytes '.repeat(200)));
    await assert.rejects(Engine.open(path), (e) => assertTagsmithError(e, 'storage') && e.httpStatus === 500);
    assert.throws(() => Engine.openSync(path), (e) => assertTagsmithError(e, 'storage'));
  });

  test('reopening an existing database keeps its data', async () => {
    const path = join(dir, 'reopen.db');
    const first = await Engine.open(path);
    assert.equal(first.backend, 'sqlite');
    const tenant = await first.createTenant('Acme');
    const shop = await first.customers(tenant.id).create({ name: 'Shop', websiteUrl: 'https://shop.example' });
    const t = await first.trackings(tenant.id).create({ customerId: shop.id, name: 'Buy', kind: 'button_click', selector: 'a' });
    first.close();

    const second = await Engine.open(path);
    assert.deepEqual(await second.getTenant(tenant.id), tenant);
    assert.deepEqual(second.customers(tenant.id).getSync(shop.id), shop);
    assert.deepEqual(await second.trackings(tenant.id).get(t.id), t);
    assert.equal(second.listTenantsSync().total, 1);
    second.close();
  });

  test('close is idempotent; later calls are unavailable', async () => {
    const engine = Engine.inMemory();
    engine.close();
    engine.close();
    assert.throws(() => engine.createTenantSync('x'), (e) => assertTagsmithError(e, 'unavailable'));
    await assert.rejects(engine.listTenants(), (e) => assertTagsmithError(e, 'unavailable'));
  });

  test('Symbol.asyncDispose and Symbol.dispose close the engine (`await using`)', async () => {
    const a = Engine.inMemory();
    await a[Symbol.asyncDispose]();
    assert.throws(() => a.listTenantsSync(), (e) => assertTagsmithError(e, 'unavailable'));
    const b = Engine.inMemory();
    b[Symbol.dispose]();
    assert.throws(() => b.listTenantsSync(), (e) => assertTagsmithError(e, 'unavailable'));
  });

  test('many Promise calls in flight on the thread pool', async () => {
    const { trackings, shop } = setup();
    const t = trackings.createSync({ customerId: shop.id, name: 'Buy', kind: 'button_click', selector: 'a' });
    const got = await Promise.all(Array.from({ length: 500 }, () => trackings.get(t.id)));
    assert.ok(got.every((x) => x.id === t.id));
  });

  test('a worker thread opens the same SQLite file', async () => {
    const path = join(dir, 'worker.db');
    const engine = Engine.openSync(path);
    const tenant = engine.createTenantSync('Shared');
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { Engine } = require(workerData.pkg);
      (async () => {
        const engine = await Engine.open(workerData.path);
        const tenant = await engine.getTenant(workerData.tenant);
        const other = engine.createTenantSync('From worker');
        engine.close();
        parentPort.postMessage({ name: tenant.name, other: other.id });
      })().catch((e) => parentPort.postMessage({ error: e.code }));
    `;
    const pkg = new URL('../index.js', import.meta.url).pathname;
    const reply = await new Promise((resolve, reject) => {
      const w = new Worker(source, { eval: true, workerData: { pkg, path, tenant: tenant.id } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.equal(reply.name, 'Shared');
    assert.equal(engine.getTenantSync(reply.other).name, 'From worker');
    engine.close();
  });
});

describe('the binding kit', () => {
  test('a Rust panic becomes an internal error, not a crashed process', async () => {
    const { createRequire } = await import('node:module');
    const native = createRequire(import.meta.url)('../binding.js');
    assertCode(() => native.__tagsmithPanicForTests(), 'internal');
  });

  test('NaN and Infinity are invalid_input naming the field, never a silent null', () => {
    const engine = Engine.inMemory();
    const tenant = engine.createTenantSync('NaN');
    const shop = engine.customers(tenant.id).createSync({ name: 'Shop', websiteUrl: 'https://shop.example' });
    for (const bad of [NaN, Infinity, -Infinity]) {
      assertCode(
        () => engine.trackings(tenant.id).createSync({
          customerId: shop.id, name: 'x', kind: 'button_click', selector: 'a',
          ads: { category: 'purchase', value: bad, currency: 'EUR' },
        }),
        'invalid_input',
        ['ads.value'],
      );
    }
    assertCode(() => engine.events(tenant.id, NaN), 'invalid_input', ['after']);
  });

  test('an unknown kind does not hide the other bad fields', () => {
    const engine = Engine.inMemory();
    const tenant = engine.createTenantSync('Kinds');
    const shop = engine.customers(tenant.id).createSync({ name: 'Shop', websiteUrl: 'https://shop.example' });
    assertCode(
      () => engine.trackings(tenant.id).createSync({ customerId: shop.id, name: '', kind: 'nope', selector: 'button[' }),
      'invalid_input',
      ['kind', 'name', 'selector'],
    );
  });

  test('events and times: the log survives reopening; times are Dates', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'tagsmith-events-'));
    try {
      const path = join(dir, 'log.db');
      const first = Engine.openSync(path);
      const tenant = first.createTenantSync('Log');
      first.customers(tenant.id).createSync({ name: 'Shop', websiteUrl: 'https://shop.example' });
      first.close();
      const again = Engine.openSync(path);
      const batch = again.events(tenant.id);
      assert.deepEqual(batch.events.map((e) => [e.seq, e.entity, e.action]), [[1, 'tenant', 'created'], [2, 'customer', 'created']]);
      assert.ok(batch.events[0].at instanceof Date);
      assert.ok((await again.getTenant(tenant.id)).createdAt instanceof Date);
      assert.ok(again.listTenantsSync().items[0].createdAt instanceof Date);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('engine options', () => {
  test('open takes the event retention and busy timeout, and checks them by name', async () => {
    const path = join(dir, 'options.db');
    const engine = await Engine.open(path, { eventRetention: { maxEvents: 3 }, busyTimeoutMs: 100 });
    const tenant = engine.createTenantSync('Small log');
    for (let i = 0; i < 40; i++) engine.customers(tenant.id).createSync({ name: `S${i}`, websiteUrl: 'https://s.example' });
    const batch = engine.events(tenant.id);
    assert.ok(batch.missed > 0 && batch.lastSeq === 41, JSON.stringify(batch));
    engine.close();
    assertCode(() => Engine.openSync(join(dir, 'bad.db'), { eventRetention: { maxEvents: 0 } }), 'invalid_input', ['eventRetention.maxEvents']);
    await assert.rejects(Engine.open(join(dir, 'bad2.db'), { retention: 5 }), (err) => assertTagsmithError(err, 'invalid_input', ['retention']));
  });
});

describe('typings', () => {
  test('the option and result types are the ones every JS runtime shares (one source)', async () => {
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const read = (path) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');
    const shared = read('../../types/tagsmith.d.ts');
    const body = shared.slice(shared.indexOf('/** Stable error codes'));
    assert.ok(body.length > 1000, 'shared types not found');
    assert.ok(read('../index.d.ts').includes(body), 'index.d.ts does not carry bindings/types/tagsmith.d.ts');
  });
});
