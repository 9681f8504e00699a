/**
 * @tagsmith/node: the tagsmith engine for Node.js.
 *
 * Every operation has a Promise form, run on libuv's thread pool, and a `…Sync` twin run
 * inline (a SQLite read is a few microseconds; an awaited Promise adds ~40 µs here, see
 * docs/BENCHMARKS.md, so prefer the Sync twins for embedded storage on a hot path).
 *
 * Threads (`worker_threads`): the native engine is `Send + Sync`, so Promise calls on one
 * `Engine` may run concurrently on the pool. JS objects (`Engine`, `Customers`, `Trackings`)
 * belong to the thread that created them and cannot be transferred or cloned with
 * `postMessage`; in a Worker, open its own engine on the same SQLite file (WAL mode, one writer
 * at a time, across threads and processes). An in-memory engine is visible only to its creator.
 * Results are plain data and can be posted anywhere. Errors lose `code` and `fields` through
 * `postMessage` (structured clone keeps only name, message and stack): post
 * `{ code, message, fields }` instead.
 *
 * Errors: every failure is an `Error` with a stable `code` (see {@link TagsmithError}), in the
 * Sync and the Promise forms alike.
 */

