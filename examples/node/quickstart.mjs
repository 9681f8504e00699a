// Quick start for Node hosts. Run after `bindings/node/test.sh` (it builds the addon):
// `node examples/node/quickstart.mjs`.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { Engine } = createRequire(import.meta.url)('../../bindings/node/index.js');
const dir = mkdtempSync(join(tmpdir(), 'tagsmith-quickstart-'));
const engine = await Engine.open(join(dir, 'quickstart.db'));
try {
  const acme = await engine.createTenant('Acme Agency');
  const shop = await engine.customers(acme.id).create({ name: 'Shop', websiteUrl: 'https://shop.example' });
  const buy = await engine.trackings(acme.id).create({
    customerId: shop.id, name: 'Buy', kind: 'button_click', selector: 'button.buy', ga4Event: 'add_to_cart',
  });
  console.log(`tracking ${buy.name} (${buy.id}) is ${buy.syncStatus}`);
  const refused = await engine.trackings(acme.id).create({ customerId: shop.id, name: 'Bad', kind: 'page_view' })
    .then(() => null, (e) => e);
  if (refused?.code !== 'invalid_input' || refused.fields[0].field !== 'urlRule') throw new Error('expected invalid_input on urlRule');
  console.log(`refused: ${refused.code} ${refused.fields.map((f) => f.field)}`);
  const rival = engine.createTenantSync('Rival');
  const hidden = await engine.trackings(rival.id).get(buy.id).then(() => null, (e) => e.code);
  if (hidden !== 'not_found') throw new Error('another tenant read the tracking');
  console.log('another tenant gets not_found');
} finally {
  engine.close();
  rmSync(dir, { recursive: true, force: true });
}
