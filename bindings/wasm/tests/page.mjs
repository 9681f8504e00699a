// Runs in Chromium, loaded by index.html: initialises the WASM build, then waits for the Node
// side (browser.test.mjs) to call window.tagsmithTest.run(files) with the vector file names.
// Everything is reported back as data; nothing here depends on Node.
import init, { Engine } from '/bindings/wasm/pkg/tagsmith_wasm.js';
import { runVector } from '/tests/vectors/runner.mjs';

const status = document.getElementById('status');

/** Run `fn`; a thrown error or false result is a failed check. */
async function check(name, fn, out) {
  try {
    const ok = await fn();
    out.push({ name, error: ok === false ? 'returned false' : null });
  } catch (e) {
    out.push({ name, error: `${e?.code ?? ''} ${e?.message ?? e}`.trim() });
  }
}

/** The error a call throws (sync) or rejects with (Promise); fails if it succeeds. */
async function failure(call) {
  try {
    await call();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, the call succeeded');
}

function expectError(e, code, fields) {
  if (!(e instanceof Error)) throw new Error(`not an Error: ${e}`);
  if (e.code !== code) throw new Error(`code ${e.code}, want ${code}: ${e.message}`);
  if (fields) {
    const got = JSON.stringify((e.fields ?? []).map((f) => f.field).sort());
    const want = JSON.stringify([...fields].sort());
    if (got !== want) throw new Error(`fields ${got}, want ${want}`);
  }
  return true;
}

async function directChecks() {
  const out = [];
  const engine = Engine.inMemory();
  const acme = engine.createTenantSync('Acme');
  const rival = await engine.createTenant('Rival');
  const shop = engine.customers(acme.id).createSync({ name: 'Shop', websiteUrl: 'https://shop.example' });

  await check('error object: instanceof Error with code, camelCase fields, httpStatus, retryable', () => {
    let e;
    try {
      engine.customers(acme.id).createSync({ name: 'Bad', websiteUrl: 'ftp://x.example' });
    } catch (err) {
      e = err;
    }
    expectError(e, 'invalid_input', ['websiteUrl']);
    const f = e.fields[0];
    if (f.value !== 'ftp://x.example' || typeof f.reason !== 'string' || !f.reason) throw new Error(JSON.stringify(f));
    if (e.httpStatus !== 422 || e.retryable !== false) throw new Error(`${e.httpStatus} ${e.retryable}`);
    return typeof e.message === 'string' && e.message.length > 0 && typeof e.stack === 'string';
  }, out);

  await check('Promise methods reject (not throw) on bad input', async () => {
    let p;
    try {
      p = engine.customers(acme.id).create({ name: 42, websiteUrl: 'https://x.example' });
    } catch (e) {
      throw new Error(`threw synchronously: ${e.message}`);
    }
    if (!(p instanceof Promise)) throw new Error('not a Promise');
    return expectError(await failure(() => p), 'invalid_input', ['name']);
  }, out);

  await check('bad option type → invalid_input naming the field', async () => {
    expectError(await failure(() => engine.customers(acme.id).list({ limit: 'ten' })), 'invalid_input', ['limit']);
    expectError(await failure(() => engine.trackings(acme.id).list({ customerId: 7 })), 'invalid_input', ['customerId']);
    // Not an object / missing: core names the request, as in @tagsmith/node.
    expectError(await failure(() => engine.customers(acme.id).createSync('not an object')), 'invalid_input', ['request']);
    expectError(await failure(() => engine.customers(acme.id).create()), 'invalid_input', ['request']);
    expectError(await failure(() => engine.customers(acme.id).deleteSync(shop.id, { version: 1, force: true })), 'invalid_input', ['force']);
    expectError(await failure(() => engine.customers(acme.id).updateSync(shop.id, { version: 'one' })), 'invalid_input', ['version']);
    expectError(await failure(() => engine.customers(acme.id).getSync(12)), 'invalid_input', ['id']);
    expectError(await failure(() => engine.customers(42)), 'invalid_input', ['tenantId']);
    return expectError(await failure(() => engine.createTenant(null)), 'invalid_input', ['name']);
  }, out);

  await check('unknown camelCase key is named in camelCase', async () =>
    expectError(
      await failure(() => engine.customers(acme.id).create({ name: 'X', websiteURL: 'https://x.example' })),
      'invalid_input',
      ['websiteURL'],
    ), out);

  await check('cross-tenant get → not_found (sync and Promise)', async () => {
    expectError(await failure(() => engine.customers(rival.id).getSync(shop.id)), 'not_found');
    expectError(await failure(() => engine.customers(rival.id).get(shop.id)), 'not_found');
    return expectError(await failure(() => engine.getTenant('ten_nope')), 'not_found');
  }, out);

  await check('change events: numbered per tenant, resumable, isolated', () => {
    const fresh = Engine.inMemory();
    const t = fresh.createTenantSync('Events');
    const c = fresh.customers(t.id).createSync({ name: 'Shop', websiteUrl: 'https://shop.example' });
    const batch = fresh.events(t.id);
    const seen = JSON.stringify(batch.events.map((e) => [e.seq, e.entity, e.action, e.tenantId === t.id]));
    if (seen !== JSON.stringify([[1, 'tenant', 'created', true], [2, 'customer', 'created', true]])) throw new Error(seen);
    if (batch.missed !== 0 || batch.lastSeq !== 2) throw new Error(JSON.stringify(batch));
    fresh.customers(t.id).deleteSync(c.id);
    const next = fresh.events(t.id, batch.lastSeq);
    if (next.events.length !== 1 || next.events[0].action !== 'deleted') throw new Error(JSON.stringify(next));
    const other = fresh.createTenantSync('Other');
    if (fresh.events(other.id).events.length !== 1) throw new Error('another tenant saw events');
    let e;
    try {
      fresh.events(t.id, -1);
    } catch (err) {
      e = err;
    }
    return expectError(e, 'invalid_input', ['after']);
  }, out);

  await check('the activity log names actors and filters', () => {
    const fresh = Engine.inMemory();
    const t = fresh.createTenantSync('Activity');
    const alice = fresh.actingAs('user:alice');
    const c = alice.customers(t.id).createSync({ name: 'Shop', websiteUrl: 'https://shop.example' });
    fresh.customers(t.id).createSync({ name: 'Other', websiteUrl: 'https://other.example' });
    const actors = JSON.stringify(fresh.events(t.id).events.map((e) => e.actor));
    if (actors !== JSON.stringify([null, 'user:alice', null])) throw new Error(actors);
    const mine = fresh.events(t.id, 0, 10, { actor: 'user:alice' });
    if (mine.events.length !== 1 || mine.events[0].id !== c.id || mine.lastSeq !== 3) throw new Error(JSON.stringify(mine));
    const hourAgo = new Date(Date.now() - 3600_000);
    if (fresh.events(t.id, 0, 10, { since: hourAgo }).events.length !== 3) throw new Error('since');
    if (fresh.events(t.id, 0, 10, { until: hourAgo }).events.length !== 0) throw new Error('until');
    let e;
    try {
      fresh.events(t.id, 0, 10, { entity: 'planet' });
    } catch (err) {
      e = err;
    }
    return expectError(e, 'invalid_input', ['entity']);
  }, out);

  await check('an unknown kind does not hide the other bad fields', () => {
    let e;
    try {
      engine.trackings(acme.id).createSync({ customerId: shop.id, name: '', kind: 'nope', selector: 'button[' });
    } catch (err) {
      e = err;
    }
    return expectError(e, 'invalid_input', ['kind', 'name', 'selector']);
  }, out);

  await check('event times are Dates', () => {
    const batch = engine.events(acme.id);
    return batch.events.length > 0 && batch.events.every((ev) => ev.at instanceof Date);
  }, out);

  await check('NaN and Infinity are invalid_input naming the field, not a silent null', () => {
    const shopId = shop.id;
    let e;
    try {
      engine.trackings(acme.id).createSync({
        customerId: shopId, name: 'NaN', kind: 'button_click', selector: '#x',
        ads: { category: 'purchase', value: Number.NaN, currency: 'EUR' },
      });
    } catch (err) {
      e = err;
    }
    return expectError(e, 'invalid_input', ['ads.value']);
  }, out);

  await check('results are plain camelCase objects; ga4Params keys kept', async () => {
    const t = await engine.trackings(acme.id).create({
      customerId: shop.id, name: 'Buy', kind: 'button_click', selector: 'button.buy',
      ga4Event: 'add_to_cart', ga4Params: { item_category: 'shoes' },
    });
    if (Object.getPrototypeOf(t) !== Object.prototype) throw new Error('not a plain object');
    for (const k of ['id', 'tenantId', 'customerId', 'ga4Event', 'syncStatus', 'createdAt', 'updatedAt']) {
      if (!(k in t)) throw new Error(`missing ${k} in ${JSON.stringify(t)}`);
    }
    if (t.ga4Params.item_category !== 'shoes') throw new Error(JSON.stringify(t.ga4Params));
    if (t.syncError !== null || t.urlRule !== null) throw new Error('None should be null');
    if (!(t.updatedAt instanceof Date) || t.lastSyncedAt !== null) throw new Error('times are Dates');
    if (JSON.stringify(t.externalIds) !== '{}') throw new Error(JSON.stringify(t.externalIds));
    // undefined means "absent" (unchanged); null clears.
    const same = await engine.trackings(acme.id).update(t.id, { version: 1, ga4Event: undefined });
    if (same.ga4Event !== 'add_to_cart') throw new Error(`undefined cleared ga4Event: ${same.ga4Event}`);
    const cleared = engine.trackings(acme.id).updateSync(t.id, { version: same.version, ga4Event: null });
    if (cleared.ga4Event !== null) throw new Error(`null did not clear ga4Event: ${cleared.ga4Event}`);
    const page = engine.trackings(acme.id).listSync();
    return page.total === 1 && page.items.length === 1 && page.nextCursor === null;
  }, out);

  await check('clock and ids come from the browser', () => {
    const t = engine.createTenantSync('Clock');
    if (!(t.createdAt instanceof Date)) throw new Error(`createdAt is not a Date: ${t.createdAt}`);
    const skew = Math.abs(t.createdAt.getTime() - Date.now());
    if (!(skew < 60_000)) throw new Error(`createdAt ${t.createdAt} vs now ${new Date().toISOString()}`);
    const ids = new Set(Array.from({ length: 50 }, () => engine.createTenantSync('n').id));
    return ids.size === 50 && [...ids].every((id) => /^ten_[0-9a-f]{24}$/.test(id));
  }, out);

  await check('hostile input: cycles, BigInt, huge nesting, long strings → invalid_input, engine survives', async () => {
    const cyclic = { name: 'c' };
    cyclic.self = cyclic;
    expectError(await failure(() => engine.customers(acme.id).createSync(cyclic)), 'invalid_input', ['options']);
    expectError(await failure(() => engine.customers(acme.id).createSync({ name: 1n })), 'invalid_input', ['options']);
    let deep = {};
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expectError(await failure(() => engine.customers(acme.id).createSync({ name: 'd', websiteUrl: 'https://d.example', x: deep })), 'invalid_input');
    expectError(await failure(() => engine.customers(acme.id).createSync({ name: 'x'.repeat(100_000), websiteUrl: 'https://d.example' })), 'invalid_input', ['name']);
    return engine.customers(acme.id).getSync(shop.id).name === 'Shop';
  }, out);

  await check('message reads "code: message"; listTenants pages tenants', async () => {
    const e = await failure(() => engine.getTenantSync('ten_nope'));
    if (!e.message.startsWith('not_found: ')) throw new Error(e.message);
    const first = engine.listTenantsSync({ limit: 1 });
    const rest = await engine.listTenants({ cursor: first.nextCursor, limit: 1000 });
    return engine.backend === 'memory' && first.items.length === 1 && rest.total === first.total
      && rest.items.length === first.total - 1;
  }, out);

  await check('await using closes the engine (Symbol.asyncDispose)', async () => {
    let kept;
    let id;
    {
      await using scoped = Engine.inMemory();
      id = scoped.createTenantSync('Scoped').id;
      kept = scoped;
    }
    return expectError(await failure(() => kept.getTenantSync(id)), 'unavailable');
  }, out);

  await check('close() → later calls fail with unavailable', async () => {
    const e2 = Engine.inMemory();
    const t = e2.createTenantSync('Closing');
    e2.close();
    e2.close();
    expectError(await failure(() => e2.getTenantSync(t.id)), 'unavailable');
    const e = await failure(() => e2.getTenant(t.id));
    // A closed engine stays closed: unavailable, but not retryable.
    return expectError(e, 'unavailable') && e.retryable === false && e.httpStatus === 503;
  }, out);

  await check('canary: the runner reports a failing vector in this runtime', async () => {
    const failing = { name: 'canary', steps: [{ op: 'create_tenant', args: { name: '' } }] };
    const failures = await runVector(() => Engine.inMemory(), failing);
    return failures.length === 1 && failures[0].includes('invalid_input');
  }, out);

  engine.close();
  return out;
}

window.tagsmithTest = {
  async run(files) {
    const vectors = [];
    for (const file of files) {
      const vector = await (await fetch(`/tests/vectors/${file}`)).json();
      if (vector.native_only) {
        // The browser build has no queue: these vectors are for native runtimes.
        vectors.push({ file, name: vector.name, steps: 0, skipped: true, failures: [] });
        continue;
      }
      let failures;
      try {
        failures = await runVector(() => Engine.inMemory(), vector);
      } catch (e) {
        failures = [`runner threw: ${e?.message ?? e}`];
      }
      vectors.push({ file, name: vector.name, steps: vector.steps.length, failures });
    }
    const checks = await directChecks();
    status.textContent = 'done';
    return { userAgent: navigator.userAgent, vectors, checks };
  },
};

await init();
status.textContent = 'ready';
window.tagsmithReady = true;
