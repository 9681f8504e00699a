/** `await using engine = await Engine.open(path)` closes it at the end of the block. */
export interface Engine {
  [Symbol.asyncDispose](): Promise<void>
  [Symbol.dispose](): void
}


/** Handlers get the job as a plain object and may return a value or a Promise. */
export interface Worker {
  /** Run `handler(job)` for jobs of `kind`; a throw or a rejection fails that attempt (its message is recorded) and the worker lives on. */
  register(
    kind: string,
    handler: (job: JobRecord) => unknown,
    opts?: { timeoutMs?: number; maxBackoffMs?: number },
  ): void
}
