#!/usr/bin/env node
// Peer benchmark for the PostgreSQL job queues graphile-worker and pg-boss, shaped like
// `tagsmith jobs bench --db postgres://…`: bulk enqueue, burn-down and idle pickup latency, each
// peer in a fresh schema of the same database (dropped after).
//
//   node bench.mjs --peer graphile|pgboss --url postgres://… --jobs N [--procs P] [--latency 200]
//
// Last line on stdout is one compact JSON object; everything else goes to stderr.
//
// How each peer is driven (their README / type definitions):
// - graphile-worker 0.17, its batched configuration from `website/docs/performance.md`:
//   `localQueue: { size: 500 }`, `completeJobBatchDelay: 0`, `failJobBatchDelay: 0`,
//   concurrency 24 and a pool of 25 per process; bulk enqueue with `addJobs` (one statement per
//   chunk of 10,000); new jobs wake workers through its LISTEN/NOTIFY.
// - pg-boss 10, `work(name, { batchSize: 500, pollingIntervalSeconds: 0.5 }, handler)` (0.5 s is
//   the lowest interval it accepts), bulk enqueue with `insert` (chunks of 10,000). pg-boss
//   polls (no LISTEN), so its pickup latency is about half the interval.
// --procs P > 1 forks P worker processes (as both READMEs suggest for scaling out) and times
// go → last completion with the children's clocks.
import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const log = (...a) => console.error("[pgqueues-bench]", ...a);
const epochMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const { values: args } = parseArgs({
  options: {
    peer: { type: "string" },
    url: { type: "string" },
    jobs: { type: "string", default: "50000" },
    procs: { type: "string", default: "1" },
    latency: { type: "string", default: "200" },
    "pause-ms": { type: "string", default: "5" },
    schema: { type: "string" },
    child: { type: "boolean", default: false },
  },
  strict: true,
});

function int(name, min) {
  const v = Number(args[name]);
  if (!Number.isInteger(v) || v < min) {
    console.error(`--${name} must be an integer >= ${min} (got ${args[name]})`);
    process.exit(2);
  }
  return v;
}

const CHUNK = 10_000;
const CONCURRENCY = 24;

// ---------------------------------------------------------------------------------------------
// The peers, behind one shape: setup, enqueue(n), startWorker(kind, onJob), stop.
const peers = {
  graphile: {
    version: () => require("graphile-worker/package.json").version,
    async open(url, schema) {
      const { makeWorkerUtils, run, Logger } = await import("graphile-worker");
      const logger = new Logger(() => () => {});
      const utils = await makeWorkerUtils({ connectionString: url, schema, logger });
      await utils.migrate();
      const preset = {
        worker: {
          connectionString: url,
          schema,
          concurrentJobs: CONCURRENCY,
          maxPoolSize: CONCURRENCY + 1,
          pollInterval: 2000,
          localQueue: { size: 500 },
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
        },
      };
      return {
        async enqueue(kind, n) {
          for (let i = 0; i < n; i += CHUNK) {
            const specs = Array.from({ length: Math.min(CHUNK, n - i) }, () => ({
              identifier: kind,
              payload: {},
            }));
            await utils.addJobs(specs);
          }
        },
        async addOne(kind) {
          await utils.addJob(kind, {});
        },
        async work(kind, onJob) {
          const runner = await run({
            preset,
            logger,
            noHandleSignals: true,
            taskList: { [kind]: async () => onJob(1) },
          });
          return async () => runner.stop();
        },
        async close() {
          await utils.release();
        },
      };
    },
  },
  pgboss: {
    version: () => require("pg-boss/package.json").version,
    async open(url, schema) {
      const { default: PgBoss } = await import("pg-boss");
      const boss = new PgBoss({ connectionString: url, schema, max: CONCURRENCY + 1 });
      boss.on("error", (e) => log("pg-boss error:", e.message));
      await boss.start();
      const queues = new Set();
      const queue = async (kind) => {
        if (!queues.has(kind)) {
          await boss.createQueue(kind);
          queues.add(kind);
        }
      };
      return {
        async enqueue(kind, n) {
          await queue(kind);
          for (let i = 0; i < n; i += CHUNK) {
            const jobs = Array.from({ length: Math.min(CHUNK, n - i) }, () => ({
              name: kind,
              data: {},
            }));
            await boss.insert(jobs);
          }
        },
        async addOne(kind) {
          await queue(kind);
          await boss.send(kind, {});
        },
        async work(kind, onJob) {
          await queue(kind);
          const id = await boss.work(kind, { batchSize: 500, pollingIntervalSeconds: 0.5 }, async (jobs) =>
            onJob(jobs.length)
          );
          return async () => boss.offWork(id);
        },
        async close() {
          await boss.stop({ graceful: false, wait: true });
        },
      };
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Child: one worker process on the shared schema; reports its count until told to stop.
async function runChild(peer, url, schema) {
  const q = await peer.open(url, schema);
  let done = 0;
  let lastDoneAt = 0;
  let stop;
  process.on("disconnect", () => process.exit(3));
  const tick = setInterval(() => process.send({ done, lastDoneAt }), 50);
  process.on("message", async (msg) => {
    if (msg === "go") {
      stop = await q.work("noop", (k) => {
        done += k;
        lastDoneAt = epochMs();
      });
    } else if (msg === "stop") {
      clearInterval(tick);
      await stop?.();
      await q.close();
      process.send({ final: true, done, lastDoneAt }, () => process.exit(0));
    }
  });
  process.send("ready");
}

async function dropSchema(url, schema) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`SET client_min_messages TO warning; DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
}

async function main() {
  const peer = peers[args.peer];
  if (!peer || !args.url) {
    console.error("usage: bench.mjs --peer graphile|pgboss --url postgres://… [--jobs N] [--procs P]");
    process.exit(2);
  }
  const url = args.url;
  if (args.child) return runChild(peer, url, args.schema);
  const n = int("jobs", 1);
  const procs = int("procs", 1);
  const latencyRuns = int("latency", 0);
  const pauseMs = int("pause-ms", 0);
  const schema = `bench_${args.peer}_${process.pid}`;
  await dropSchema(url, schema);
  const q = await peer.open(url, schema);
  log(`${args.peer} ${peer.version()}, schema ${schema}, ${n} jobs, ${procs} process(es)`);
  const children = [];
  try {
    // 1. Bulk enqueue.
    let t = performance.now();
    await q.enqueue("noop", n);
    const enqueueSecs = (performance.now() - t) / 1000;
    log(`enqueued ${n} in ${(enqueueSecs * 1000).toFixed(0)} ms`);

    // 2. Burn-down.
    let processSecs;
    if (procs === 1) {
      let done = 0;
      let finished;
      const all = new Promise((r) => (finished = r));
      t = performance.now();
      const stop = await q.work("noop", (k) => {
        done += k;
        if (done >= n) finished(performance.now());
      });
      const end = await all;
      processSecs = (end - t) / 1000;
      await stop();
    } else {
      const counts = new Map();
      const ready = [];
      for (let i = 0; i < procs; i++) {
        const child = fork(SELF, ["--child", "--peer", args.peer, "--url", url, "--schema", schema], {
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        children.push(child);
        child.on("message", (m) => {
          if (m && typeof m === "object") counts.set(i, m);
        });
        ready.push(new Promise((res) => child.once("message", (m) => m === "ready" && res())));
      }
      await Promise.all(ready);
      const startedAt = epochMs();
      for (const c of children) c.send("go");
      const sum = () => [...counts.values()].reduce((s, r) => s + r.done, 0);
      while (sum() < n) await sleep(20);
      const finals = await Promise.all(
        children.map(
          (c) =>
            new Promise((res) => {
              c.on("message", (m) => m?.final && res(m));
              c.send("stop");
            })
        )
      );
      log(`per-process jobs: ${finals.map((r) => r.done).join(", ")}`);
      processSecs = (Math.max(...finals.map((r) => r.lastDoneAt)) - startedAt) / 1000;
    }
    log(`processed ${n} in ${(processSecs * 1000).toFixed(0)} ms`);

    // 3. Idle pickup latency: one in-process worker, one job at a time, enqueue → handler start.
    let p50 = null;
    let p99 = null;
    if (latencyRuns > 0) {
      let pending;
      const stop = await q.work("latency", () => pending?.(performance.now()));
      await sleep(300);
      const lat = [];
      for (let i = 0; i < latencyRuns; i++) {
        const handled = new Promise((r) => (pending = r));
        const t0 = performance.now();
        await q.addOne("latency");
        const t1 = await Promise.race([handled, sleep(10_000).then(() => null)]);
        if (t1 === null) throw new Error("a latency job was not picked up in 10 s");
        lat.push(t1 - t0);
        await sleep(pauseMs);
      }
      await stop();
      lat.sort((a, b) => a - b);
      const pct = (p) => lat[Math.round((lat.length - 1) * p)];
      p50 = +pct(0.5).toFixed(3);
      p99 = +pct(0.99).toFixed(3);
    }
    console.log(
      JSON.stringify({
        peer: args.peer,
        version: peer.version(),
        jobs: n,
        procs,
        enqueue_per_sec: Math.round(n / enqueueSecs),
        process_per_sec: Math.round(n / processSecs),
        p50_ms: p50,
        p99_ms: p99,
      })
    );
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
    await q.close().catch(() => {});
    await dropSchema(url, schema).catch(() => {});
  }
  process.exit(0);
}

main().catch((e) => {
  console.error("[pgqueues-bench] error:", e?.stack ?? e);
  process.exit(1);
});
