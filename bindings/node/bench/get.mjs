// Cost of one tracking read through the Node binding on a SQLite file engine.
// Build the addon in release mode first: `npm run build:release && node bench/get.mjs`
// (or just `npm run bench`). Prints one JSON line, µs per call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createRequire } from 'node:module';

import pkg from '../index.js';

const native = createRequire(import.meta.url)('../binding.js');

const { Engine } = pkg;
const N_SYNC = Number(process.env.N_SYNC ?? 200_000);
const N_ASYNC = Number(process.env.N_ASYNC ?? 20_000);

const dir = mkdtempSync(join(tmpdir(), 'tagsmith-bench-'));
try {
  const engine = await Engine.open(join(dir, 'bench.db'));
  const tenant = engine.createTenantSync('Bench');
  const shop = engine.customers(tenant.id).createSync({ name: 'Shop', websiteUrl: 'https://shop.example' });
  const trackings = engine.trackings(tenant.id);
  const { id } = trackings.createSync({
    customerId: shop.id, name: 'Buy', kind: 'button_click', selector: 'button.buy',
    ga4Event: 'add_to_cart', ga4Params: { item_id: 'sku-1' },
  });

  for (let i = 0; i < 2_000; i++) trackings.getSync(id);
  for (let i = 0; i < 500; i++) await trackings.get(id);

  let t0 = process.hrtime.bigint();
  for (let i = 0; i < N_SYNC; i++) trackings.getSync(id);
  const syncUs = Number(process.hrtime.bigint() - t0) / 1e3 / N_SYNC;

  t0 = process.hrtime.bigint();
  for (let i = 0; i < N_ASYNC; i++) await trackings.get(id);
  const asyncUs = Number(process.hrtime.bigint() - t0) / 1e3 / N_ASYNC;

  // The floor of an awaited call: a bare AsyncTask that does nothing, in the same run.
  for (let i = 0; i < 500; i++) await native.__tagsmithNoopForBench();
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N_ASYNC; i++) await native.__tagsmithNoopForBench();
  const bareUs = Number(process.hrtime.bigint() - t0) / 1e3 / N_ASYNC;

  engine.close();
  const round = (x) => Math.round(x * 100) / 100;
  console.log(JSON.stringify({
    runtime: 'node', get_sync_us: round(syncUs), get_async_us: round(asyncUs), bare_async_task_us: round(bareUs),
    n_sync: N_SYNC, n_async: N_ASYNC, node: process.version,
  }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
