// Writes dts-header.d.ts, the header napi-rs puts above the generated index.d.ts: this package's
// preamble, the types every tagsmith JS runtime shares (one source: bindings/types/tagsmith.d.ts),
// and what only Node declares. Run by `npm run build` (its prebuild step).
import { readFileSync, writeFileSync } from 'node:fs';

const read = (path) => readFileSync(new URL(path, import.meta.url), 'utf8');
const shared = read('../../types/tagsmith.d.ts');
const body = shared.slice(shared.indexOf('/** Stable error codes'));
writeFileSync(
  new URL('../dts-header.d.ts', import.meta.url),
  `/* eslint-disable */\n\n${read('../dts-preamble.d.ts')}${body}\n${read('../dts-postamble.d.ts')}`,
);
