#!/usr/bin/env node
// Peer benchmark for plainjob (SQLite job queue on better-sqlite3), shaped like
// `tagsmith jobs bench`: bulk enqueue, burn-down and idle pickup latency on a fresh file.
//
//   node bench.mjs --jobs N [--procs P] [--latency 200] [--poll-ms 0] [--pause-ms 5] [--timeout 120]
//
// Last line on stdout is one compact JSON object; everything else goes to stderr.
//
// How plainjob is driven (its README / type definitions, v0.0.14):
//   connection = better(new Database(file))        -- plain better-sqlite3 connection
//   queue      = defineQueue({ connection, logger }) -- sets journal_mode=WAL, synchronous=1,
//                                                      busy_timeout=5000 itself
//   queue.addMany(type, dataList)                    -- one transaction for the whole list
//   worker     = defineWorker(type, handler, { queue, logger, pollIntervall, onCompleted })
//   worker.start() / worker.stop(), queue.close()
// A worker handles one job at a time and only sleeps `pollIntervall` ms when it found no job,
// so the interval matters for idle pickup latency, not for burn-down. Multi-process use is the
// README's "Multi-process Workers" recipe: fork children that each open the same file.
//
// --poll-ms (plainjob's `pollIntervall`) defaults to 0 here: the docs only give the default
// (1000 ms) and no minimum; the code accepts any value (`?? 1000`), and Node clamps a 0 ms
// timer to ~1 ms, so 0 is the lowest-latency setting (an idle worker then polls, with two
// BEGIN IMMEDIATE transactions, about once a millisecond). Because a worker starts its sleep
// right after the previous job, the latency loop (pause --pause-ms between jobs, like the
// tagsmith bench) is phase-locked: with a poll interval P > pause, latency ≈ P − pause every
// time (e.g. ~995 ms at the default 1000 ms), not a uniform 0..P.
// --procs 1 runs the worker in this process; --procs P>1 forks P worker processes and times
// go → last completion (children's clocks). Latency always uses one in-process idle worker.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { better, defineQueue, defineWorker, JobStatus } from "plainjob";

const require = createRequire(import.meta.url);
const VERSION = require("plainjob/package.json").version;
const SELF = fileURLToPath(import.meta.url);

const noop = () => {};
const silent = { error: noop, warn: noop, info: noop, debug: noop };
const log = (...a) => console.error("[plainjob-bench]", ...a);
const epochMs = () => performance.timeOrigin + performance.now();

const { values: args } = parseArgs({
  options: {
    jobs: { type: "string" },
    procs: { type: "string", default: "1" },
    latency: { type: "string", default: "200" },
    "poll-ms": { type: "string", default: "0" },
    "pause-ms": { type: "string", default: "5" },
    timeout: { type: "string", default: "120" },
    child: { type: "string" }, // internal: worker process on this db file
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

const pollMs = int("poll-ms", 0);

// ---------------------------------------------------------------------------------------------
// Child: one worker on the shared file. ready → (go) → work → (stop) → report → exit.
function runChild(file) {
  const queue = defineQueue({ connection: better(new Database(file)), logger: silent });
  let done = 0;
  let failed = 0;
  let lastDoneAt = 0;
  const worker = defineWorker("noop", noop, {
    queue,
    logger: silent,
    pollIntervall: pollMs,
    onCompleted: () => {
      done++;
      lastDoneAt = epochMs();
    },
    onFailed: () => failed++,
  });
  let running;
  process.on("disconnect", () => process.exit(3)); // parent went away
  process.on("message", async (msg) => {
    if (msg === "go") {
      running = worker.start();
      running.catch((e) => {
        console.error("[plainjob-bench child]", e);
        process.exit(1);
      });
    } else if (msg === "stop") {
      await worker.stop();
      await running;
      queue.close();
      process.send({ done, failed, lastDoneAt }, () => process.exit(0));
    }
  });
  process.send("ready");
}

// ---------------------------------------------------------------------------------------------
let tmpDir;
let exiting = false;
const children = [];

function cleanup() {
  exiting = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
  if (tmpDir) {
    try {
      rmSync(tmpDir, { recursive: true, force: true });
    } catch {}
    tmpDir = undefined;
  }
}

function fail(e) {
  console.error("[plainjob-bench] error:", e?.stack ?? e);
  cleanup();
  process.exit(1);
}

async function main() {
  const n = int("jobs", 1);
  const procs = int("procs", 1);
  const latencyRuns = int("latency", 0);
  const pauseMs = int("pause-ms", 0);
  const timeoutMs = int("timeout", 1) * 1000;
  const deadline = performance.now() + timeoutMs;
  const onTimeout = () => {
    console.error(`[plainjob-bench] error: hard timeout after ${timeoutMs / 1000} s`);
    cleanup();
    process.exit(124);
  };
  // Fires whenever the event loop is free; the in-process burn-down (which never yields to
  // timers while jobs remain) checks the deadline itself.
  const timer = setTimeout(onTimeout, timeoutMs);
  const checkDeadline = () => {
    if (performance.now() > deadline) onTimeout();
  };

  tmpDir = mkdtempSync(path.join(os.tmpdir(), "plainjob-bench-"));
  const file = path.join(tmpDir, "jobs.db");
  const db = new Database(file);
  const queue = defineQueue({ connection: better(db), logger: silent });
  log(`plainjob ${VERSION}, db ${file}, ${n} jobs, ${procs} process(es), pollIntervall ${pollMs} ms`);

  // 1. Bulk enqueue.
  const payloads = Array.from({ length: n }, () => ({}));
  let t = performance.now();
  const { ids } = queue.addMany("noop", payloads);
  const enqueueSecs = (performance.now() - t) / 1000;
  if (ids.length !== n) throw new Error(`addMany returned ${ids.length} ids for ${n} jobs`);
  log(`enqueued ${n} in ${(enqueueSecs * 1000).toFixed(1)} ms`);

  // 2. Burn-down.
  const cpu0 = process.cpuUsage();
  let processSecs;
  let failed = 0;
  if (procs === 1) {
    let done = 0;
    let endedAt = 0;
    const worker = defineWorker("noop", noop, {
      queue,
      logger: silent,
      pollIntervall: pollMs,
      onCompleted: () => {
        if (++done === n) {
          endedAt = performance.now();
          void worker.stop();
        } else if ((done & 1023) === 0) checkDeadline();
      },
      onFailed: () => failed++,
    });
    t = performance.now();
    await worker.start();
    if (done !== n) throw new Error(`burned down ${done} of ${n} jobs`);
    processSecs = (endedAt - t) / 1000;
  } else {
    const ready = [];
    for (let i = 0; i < procs; i++) {
      const child = fork(SELF, ["--child", file, "--poll-ms", String(pollMs)], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      children.push(child);
      child.on("exit", (code, sig) => {
        if (code !== 0 && !exiting) fail(new Error(`worker process ${i} exited (${code ?? sig})`));
      });
      ready.push(new Promise((res) => child.once("message", (m) => m === "ready" && res())));
    }
    await Promise.all(ready);
    // Cheap, index-backed check for "nothing pending or processing" (the bench polls it, not
    // a COUNT(*), to stay out of the workers' way).
    const busy = db.prepare(
      `SELECT EXISTS(SELECT 1 FROM plainjob_jobs WHERE status IN (${JobStatus.Pending}, ${JobStatus.Processing})) AS b`
    );
    const startedAt = epochMs();
    for (const c of children) c.send("go");
    while (busy.get().b) await new Promise((r) => setTimeout(r, 10));
    const reports = await Promise.all(
      children.map(
        (c) =>
          new Promise((res) => {
            c.once("message", res);
            c.send("stop");
          })
      )
    );
    await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once("exit", r)))));
    const done = reports.reduce((s, r) => s + r.done, 0);
    failed = reports.reduce((s, r) => s + r.failed, 0);
    log(`per-process jobs: ${reports.map((r) => r.done).join(", ")}`);
    if (done !== n) throw new Error(`burned down ${done} of ${n} jobs`);
    processSecs = (Math.max(...reports.map((r) => r.lastDoneAt)) - startedAt) / 1000;
  }
  if (failed) throw new Error(`${failed} jobs failed`);
  const doneInDb = queue.countJobs({ status: JobStatus.Done });
  if (doneInDb !== n) throw new Error(`${doneInDb} of ${n} jobs are marked done`);
  const cpu = process.cpuUsage(cpu0);
  log(
    `processed ${n} in ${(processSecs * 1000).toFixed(1)} ms` +
      (procs === 1 ? ` (cpu user ${(cpu.user / 1000).toFixed(0)} ms, sys ${(cpu.system / 1000).toFixed(0)} ms)` : "")
  );

  // 3. Idle pickup latency: one in-process worker, one job at a time, enqueue → handler start.
  let p50 = null;
  let p99 = null;
  if (latencyRuns > 0) {
    let pending;
    const worker = defineWorker(
      "latency",
      () => {
        const now = performance.now();
        pending?.resolve(now);
      },
      { queue, logger: silent, pollIntervall: pollMs }
    );
    const running = worker.start();
    await new Promise((r) => setTimeout(r, 100));
    const lat = [];
    for (let i = 0; i < latencyRuns; i++) {
      let resolve;
      const handled = new Promise((r) => (resolve = r));
      let to;
      const expired = new Promise((_, rej) => {
        to = setTimeout(() => rej(new Error("a latency job was not picked up in 10 s")), 10_000);
      });
      const t0 = performance.now();
      pending = { resolve };
      queue.add("latency", {});
      const t1 = await Promise.race([handled, expired]);
      clearTimeout(to);
      pending = undefined;
      lat.push(t1 - t0);
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
    await worker.stop();
    await running;
    lat.sort((a, b) => a - b);
    const pct = (p) => lat[Math.round((lat.length - 1) * p)];
    p50 = pct(0.5);
    p99 = pct(0.99);
    log(`pickup latency over ${latencyRuns}: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms, max ${lat.at(-1).toFixed(3)} ms`);
  }

  queue.close();
  clearTimeout(timer);
  cleanup();
  const r3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
  console.log(
    JSON.stringify({
      peer: "plainjob",
      version: VERSION,
      jobs: n,
      procs,
      enqueue_per_sec: Math.round(n / enqueueSecs),
      process_per_sec: Math.round(n / processSecs),
      p50_ms: r3(p50),
      p99_ms: r3(p99),
      poll_ms: pollMs,
    })
  );
  process.exit(0);
}

if (args.child) {
  runChild(args.child);
} else {
  main().catch((e) => fail(e));
}
