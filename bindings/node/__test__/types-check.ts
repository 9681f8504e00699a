// Compiled with `tsc --noEmit` only: proves the generated index.d.ts is valid and describes the
// API the tests use. Never run.
import { Engine } from '../index.js'
import type { Customer, Enqueued, EventBatch, JobRecord, JobState, Page, TagsmithError, Tracking, TrackingPatch, WorkerReport } from '../index.js'

export async function check(path: string): Promise<string> {
  await using engine = await Engine.open(path)
  const memory: Engine = Engine.inMemory()
  memory.close()
  const tenant = engine.createTenantSync('Acme')
  const batch: EventBatch = engine.events(tenant.id, 0, 10)
  const firstSeq: number | undefined = batch.events[0]?.seq
  void firstSeq
  const customers = engine.customers(tenant.id)
  const shop: Customer = await customers.create({ name: 'Shop', websiteUrl: 'https://shop.example' })
  const trackings = engine.trackings(tenant.id)
  const t: Tracking = trackings.createSync({
    customerId: shop.id,
    name: 'Buy',
    kind: 'button_click',
    selector: 'button.buy',
    ga4Params: { item_id: 'sku' },
    ads: { category: 'add_to_cart', value: 1, currency: 'EUR' },
  })
  const patch: TrackingPatch = { version: t.version, ga4Event: null }
  const updated: Tracking = await trackings.update(t.id, patch)
  const page: Page<Tracking> = trackings.listSync({ limit: 10, customerId: shop.id })
  const next: string | null = page.nextCursor
  await trackings.delete(updated.id, { version: updated.version })
  customers.deleteSync(shop.id)
  // @ts-expect-error kind is a closed set of strings
  trackings.createSync({ customerId: shop.id, name: 'x', kind: 'hover' })
  try {
    engine.getTenantSync('ten_nope')
  } catch (e) {
    const err = e as TagsmithError
    if (err.code === 'not_found') return err.fields.map((f) => f.field).join(',') + err.httpStatus
  }
  return next ?? engine.backend
}

export async function checkJobs(engine: Engine): Promise<number> {
  const jobs = engine.jobs()
  const added: Enqueued = await jobs.enqueue('send_report', { to: 'ops' }, { priority: 1, uniqueKey: 'k' })
  const job: JobRecord = await jobs.get(added.id)
  const state: JobState = job.state
  const worker = engine.worker({ queues: [['default', 4]], maxBackoffMs: 10 })
  worker.register('send_report', async (j: JobRecord) => {
    if (j.errors.length > 0 && j.errors[0].at instanceof Date) return
  })
  const report: WorkerReport = await worker.runUntilIdle()
  // @ts-expect-error states are a closed set of strings
  await jobs.list({ state: 'done' })
  return report.completed + (state === 'completed' ? 1 : 0)
}
