// Every conformance vector (tests/vectors/*.json) through the shared JS runner, on memory and
// on a SQLite file.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { runVector } from '../../../tests/vectors/runner.mjs';
import { Engine, scratchDir } from './helpers.mjs';

const vectorDir = fileURLToPath(new URL('../../../tests/vectors/', import.meta.url));
const files = readdirSync(vectorDir).filter((f) => f.endsWith('.json')).sort();

test('the vector directory has vectors', () => {
  assert.ok(files.length >= 3, `only ${files.length} vector files in ${vectorDir}`);
});

const dir = scratchDir();
const backends = {
  memory: () => Engine.inMemory(),
  sqlite: (name) => () => Engine.open(join(dir, `${name}.db`)),
};

for (const file of files) {
  const vector = JSON.parse(readFileSync(join(vectorDir, file), 'utf8'));
  describe(`vector ${vector.name}`, () => {
    test('memory', async () => {
      assert.deepEqual(await runVector(backends.memory, vector), []);
    });
    test('sqlite file', async () => {
      assert.deepEqual(await runVector(backends.sqlite(vector.name), vector), []);
    });
  });
}
