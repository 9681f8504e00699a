// The job queue from Node: enqueue/list/get/retry/cancel/stats, and JS handlers (plain and
// async, throwing and rejecting) run by a worker on a real SQLite file.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { Engine, scratchDir } from './helpers.mjs';

const dir = scratchDir();
let n = 0;
const open = () => Engine.openSync(join(dir, `jobs-${process.pid}-${n++}.db`));

test('enqueue, list, get, retry, cancel and stats, with typed errors', async () => {
  const engine = open();
  const jobs = engine.jobs();
  const first = await jobs.enqueue('send_report', { to_whom: 'ops' }, { priority: 3, uniqueKey: 'r:1' });
  assert.equal(first.duplicate, false);
  assert.deepEqual(await jobs.enqueue('send_report', {}, { uniqueKey: 'r:1' }), { id: first.id, duplicate: true });
  const job = await jobs.get(first.id);
  assert.deepEqual(job.args, { to_whom: 'ops' }, 'args keep their keys');
  assert.equal(job.priority, 3);
  assert.equal(job.state, 'available');
  assert.ok(job.createdAt instanceof Date);
  assert.deepEqual((await jobs.list({ state: 'available' })).map((j) => j.id), [first.id]);
  assert.equal((await jobs.stats()).available, 1);

  await assert.rejects(jobs.enqueue('bad kind!', null, { priority: 12 }), (e) => {
    assert.equal(e.code, 'invalid_input');
    assert.deepEqual(e.fields.map((f) => f.field).sort(), ['kind', 'priority']);
    return true;
  });
  await assert.rejects(jobs.get(999999), { code: 'not_found' });
  await assert.rejects(jobs.get(-1), { code: 'invalid_input' });
  await assert.rejects(jobs.enqueue('x', null, { tenantId: 'ten_nobody' }), { code: 'not_found' });

  const out = await jobs.enqueueMany([{ kind: 'noop' }, { kind: 'noop', maxAttempts: 0 }, { kind: 'noop', args: { a_b: 1 } }]);
  assert.equal(typeof out[0].id, 'number');
  assert.equal(out[1].error.code, 'invalid_input');
  assert.equal(out[1].error.fields[0].field, 'jobs[1].maxAttempts');
  assert.deepEqual((await jobs.get(out[2].id)).args, { a_b: 1 });

  assert.equal((await jobs.cancel(first.id)).state, 'cancelled');
  await assert.rejects(jobs.cancel(first.id), { code: 'conflict' });
  assert.equal((await jobs.retry(first.id)).state, 'available');
  engine.close();
});

test('JS handlers run, a throw or a rejection fails only that attempt', async () => {
  const engine = open();
  const tenant = engine.createTenantSync('Acme');
  const jobs = engine.jobs();
  const seen = [];
  let flakyCalls = 0;
  for (let i = 0; i < 5; i++) await jobs.enqueue('record', { n: i }, { tenantId: tenant.id });
  await jobs.enqueue('record_async', { n: 10 });
  const flaky = await jobs.enqueue('flaky', { n: 20 });
  const rejects = await jobs.enqueue('rejects', { n: 30 }, { maxAttempts: 1 });
  await jobs.enqueue('nobody_handles_this', {});

  const worker = engine.worker({ maxBackoffMs: 10, pollMs: 50 });
  worker.register('record', (job) => {
    assert.ok(job.createdAt instanceof Date);
    seen.push(job.args.n);
  });
  worker.register('record_async', async (job) => {
    await new Promise((r) => setTimeout(r, 1));
    seen.push(job.args.n);
  });
  worker.register('flaky', (job) => {
    flakyCalls += 1;
    if (flakyCalls === 1) throw new Error('upstream said 503');
    seen.push(job.args.n);
  });
  worker.register('rejects', async () => {
    throw new Error('bad data');
  });
  const report = await worker.runUntilIdle();
  assert.equal(report.completed, 7, JSON.stringify(report));
  assert.equal(report.retried, 1);
  assert.equal(report.discarded, 2);
  assert.deepEqual(seen.sort((a, b) => a - b), [0, 1, 2, 3, 4, 10, 20]);
  const f = await jobs.get(flaky.id);
  assert.equal(f.attempt, 2);
  assert.match(f.errors[0].message, /upstream said 503/);
  assert.ok(f.errors[0].at instanceof Date);
  const r = await jobs.get(rejects.id);
  assert.equal(r.state, 'discarded');
  assert.match(r.errors[0].message, /bad data/);
  assert.equal((await jobs.stats(tenant.id)).completed, 5);
  const states = engine.events(tenant.id).events.filter((e) => e.entity === 'job').map((e) => e.jobState);
  assert.equal(states.filter((s) => s === 'completed').length, 5);
  await assert.rejects(worker.runUntilIdle(), { code: 'conflict' });
  assert.throws(() => engine.worker().register('x', 'not a function'), (e) => e.code === 'invalid_input' && e.fields[0].field === 'handler');
  engine.close();
});

test('a started worker runs in the background and shuts down', async () => {
  const engine = open();
  const worker = engine.worker({ pollMs: 20 });
  let done;
  const ran = new Promise((r) => (done = r));
  worker.register('ping', () => done());
  worker.start();
  await engine.jobs().enqueue('ping');
  await ran;
  const report = await worker.shutdown(2000);
  assert.equal(report.completed, 1);
  assert.throws(() => engine.worker({ leaseMs: 120000 }), (e) => e.code === 'invalid_input' && e.fields[0].field === 'leaseMs');
  assert.throws(() => engine.worker().periodic('nightly', '61 * * * *', 'noop'), { code: 'invalid_input' });
  engine.close();
});

test('a handler reports progress with the job it was given', async () => {
  const engine = open();
  const tenant = engine.createTenantSync('Acme');
  const jobs = engine.jobs();
  const { id } = await jobs.enqueue('crawl', {}, { tenantId: tenant.id });
  let refused;
  const worker = engine.worker({ pollMs: 20 });
  worker.register('crawl', async (job) => {
    await jobs.progress(job, 40, 'page 4 of 10');
    await jobs.progress(job, 140).catch((e) => (refused = e));
  });
  assert.equal((await worker.runUntilIdle()).completed, 1);
  assert.equal(refused.code, 'invalid_input');
  assert.equal(refused.fields[0].field, 'percent');
  const done = await jobs.get(id);
  assert.deepEqual(done.progress, { percent: 40, message: 'page 4 of 10' });
  const updated = engine.events(tenant.id).events.filter((e) => e.entity === 'job' && e.action === 'updated');
  assert.equal(updated.length, 1);
  engine.close();
});
