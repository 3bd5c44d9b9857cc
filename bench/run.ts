/**
 * `npm run bench`: prints a table and writes bench/results/latest.json.
 * Not part of `npm test`: performance is measured here, never asserted in tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { foundationBenchmarks } from './foundation.js';
import { linkBenchmarks } from './link.js';
import { stackBenchmarks } from './stack.js';
import { apiBenchmarks } from './api.js';
import { tapBenchmarks } from './tap.js';
import { shardBenchmarks } from './shard.js';
import { shardsBenchmarks } from './shards.js';
import { printTable, type BenchRow } from './harness.js';

const rows: BenchRow[] = [...foundationBenchmarks(), ...(await linkBenchmarks()), ...(await stackBenchmarks()), ...(await apiBenchmarks()), ...(await shardBenchmarks()), ...(await shardsBenchmarks()), ...(await tapBenchmarks())];
printTable(rows);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'bench', 'results', 'latest.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, rows }, null, 2));
console.log(`\nwritten: ${out}`);
