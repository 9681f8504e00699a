// Compile-only check of the generated pkg/tagsmith_wasm.d.ts (test.sh runs `tsc -p tests`):
// the API is typed with the shared option/result shapes, not `any`.
import init, {
  Engine,
  type Customer,
  type EventBatch,
  type Page,
  type TagsmithError,
  type Tenant,
  type Tracking,
} from '../pkg/tagsmith_wasm.js';

export async function typed(): Promise<void> {
  await init();
  await using engine = Engine.inMemory();
  const tenant: Tenant = await engine.createTenant('Acme');
  const batch: EventBatch = engine.events(tenant.id, 0, 10);
  const lastSeq: number = batch.lastSeq;
  void lastSeq;
  const same: Tenant = engine.getTenantSync(tenant.id);
  const tenants: Page<Tenant> = engine.listTenantsSync();
  const customers = engine.customers(same.id);
  const shop: Customer = await customers.create({ name: 'Shop', websiteUrl: 'https://shop.example' });
  const renamed: Customer = customers.updateSync(shop.id, { version: shop.version, name: 'Shop 2' });
  const page: Page<Customer> = await customers.list({ limit: 10 });
  const next: string | null = page.nextCursor;
  const tracking: Tracking = engine.trackings(tenant.id).createSync({
    customerId: renamed.id,
    name: 'Buy',
    kind: 'button_click',
    selector: 'button.buy',
    ga4Params: { item_category: 'shoes' },
  });
  const cleared: Tracking = await engine
    .trackings(tenant.id)
    .update(tracking.id, { version: tracking.version, ga4Event: null });
  await engine.trackings(tenant.id).delete(cleared.id, { version: cleared.version });
  customers.deleteSync(shop.id);
  try {
    customers.getSync('cus_missing');
  } catch (e) {
    const err = e as TagsmithError;
    const code: 'not_found' | string = err.code;
    const fields: string[] = err.fields.map((f) => f.field);
    void [code, fields, err.httpStatus, err.retryable, next, tenants.total];
  }
  // @ts-expect-error: kind must be one of the TrackingKind strings
  engine.trackings(tenant.id).createSync({ customerId: shop.id, name: 'x', kind: 'hover' });
  // @ts-expect-error: create options are required
  customers.createSync();
}
