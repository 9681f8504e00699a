/** `await using engine = await Engine.open(path)` closes it at the end of the block. */
export interface Engine {
  [Symbol.asyncDispose](): Promise<void>
  [Symbol.dispose](): void
}

