// Shared by the node:test files: the package under test and scratch directories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export { Engine } from '../index.js';

/** A fresh directory, removed when the test file ends. */
export function scratchDir() {
  const dir = mkdtempSync(join(tmpdir(), 'tagsmith-node-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
