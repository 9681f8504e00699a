// Runs one conformance vector (see README.md) against a JavaScript tagsmith engine: the Node
// binding (@tagsmith/node) or the browser build (@tagsmith/wasm). Runtime-neutral on purpose
// (no node: imports) so the same file runs in Node and in Chromium.
//
// usage: const failures = await runVector(() => Engine.inMemory(), vector); // [] when it passes

const USER_MAPS = new Set(['ga4_params', 'args']);

export const camel = (k) => k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** snake_case keys → camelCase, except the keys of user maps such as ga4_params. */
export function toCamelKeys(value) {
  if (Array.isArray(value)) return value.map(toCamelKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [camel(k), USER_MAPS.has(k) ? v : toCamelKeys(v)]),
  );
}

/** An error field path in JS spelling: url_rule.value → urlRule.value, ga4_params.k → ga4Params.k */
export function camelPath(path) {
  const out = [];
  let data = false;
  for (const part of path.split('.')) {
    out.push(data ? part : camel(part));
    if (!data && USER_MAPS.has(part)) data = true;
  }
  return out.join('.');
}

const canon = (v) =>
  v === undefined
    ? 'null'
    : JSON.stringify(v, (_, x) =>
        x && typeof x === 'object' && !Array.isArray(x)
          ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]))
          : x,
      );

export async function runVector(makeEngine, vector) {
  const engine = await makeEngine();
  const saved = new Map();
  let cursor = null;
  const failures = [];
  // The id of the record saved as `name`; `=literal` is a literal id. Any other name is a
  // mistake in the vector, never silently used as an id.
  const idOf = (name) => {
    if (name === '') return ''; // the step has no such key
    if (name.startsWith('=')) return name.slice(1);
    if (!saved.has(name)) throw new Error(`the vector names "${name}", which no earlier step saved (write "=${name}" for a literal id)`);
    return saved.get(name).id;
  };
  const resolve = (v) => {
    if (typeof v === 'string' && v === '$cursor') return cursor;
    if (typeof v === 'string' && v.startsWith('$')) return idOf(v.slice(1));
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
    return v;
  };

  for (const [i, step] of vector.steps.entries()) {
    const where = `${vector.name} step ${i} (${step.op})`;
    const tenant = idOf(step.tenant ?? '');
    const id = idOf(step.id ?? '');
    const args = toCamelKeys(resolve(step.args ?? {}));
    const customers = () => engine.customers(tenant);
    const trackings = () => engine.trackings(tenant);
    const jobs = () => engine.jobs();
    const ops = {
      create_tenant: () => engine.createTenant(args.name),
      get_tenant: () => engine.getTenant(id),
      create_customer: () => customers().create(args),
      get_customer: () => customers().get(id),
      list_customers: () => customers().list(args),
      update_customer: () => customers().update(id, args),
      delete_customer: () => customers().delete(id, args),
      create_tracking: () => trackings().create(args),
      get_tracking: () => trackings().get(id),
      list_trackings: () => trackings().list(args),
      update_tracking: () => trackings().update(id, args),
      delete_tracking: () => trackings().delete(id, args),
      enqueue_job: () => {
        const { kind, args: jobArgs, ...options } = args;
        return jobs().enqueue(kind, jobArgs, options);
      },
      get_job: () => jobs().get(id),
      cancel_job: () => jobs().cancel(id),
      retry_job: () => jobs().retry(id),
      job_stats: () => jobs().stats(args.tenantId),
      run_jobs: () => engine.worker({ maxBackoffMs: 10, pollMs: 50 }).runUntilIdle(),
    };
    const expect = step.expect ?? { ok: {} };
    let result;
    let error;
    try {
      result = await ops[step.op]();
    } catch (e) {
      error = e;
    }
    if (error) {
      if (!expect.error) {
        failures.push(`${where}: expected success, got ${error.code}: ${error.message}`);
      } else if (!(error instanceof Error) || error.code !== expect.error) {
        failures.push(`${where}: expected error ${expect.error}, got ${error?.code}: ${error?.message}`);
      } else if (expect.fields) {
        const got = (error.fields ?? []).map((f) => f.field).sort();
        const want = expect.fields.map(camelPath).sort();
        if (canon(got) !== canon(want)) failures.push(`${where}: error fields ${canon(got)}, want ${canon(want)}`);
      }
      continue;
    }
    if (expect.error) {
      failures.push(`${where}: expected error ${expect.error}, got ${canon(result)}`);
      continue;
    }
    let shown = result;
    if (step.op.startsWith('list_')) {
      cursor = result.nextCursor ?? null;
      shown = {
        total: result.total,
        count: result.items.length,
        hasMore: result.nextCursor != null,
        names: result.items.map((x) => x.name),
      };
    }
    for (const [k, want] of Object.entries(toCamelKeys(expect.ok ?? {}))) {
      if (canon(shown[k]) !== canon(want)) {
        failures.push(`${where}: ${k} is ${canon(shown[k])}, want ${canon(want)}`);
      }
    }
    if (step.save) saved.set(step.save, result);
  }
  if (typeof engine.close === 'function') engine.close();
  return failures;
}
