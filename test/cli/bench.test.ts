import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

function shoal(...args: string[]) {
  return shoalWith({}, ...args);
}

function shoalWith(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('shoal bench api: the table of the API rows, each with its reference and a ratio', () => {
  const r = shoal('bench', 'api', '--seconds', '0.2');
  assert.equal(r.code, 0, r.err);
  const rows = r.out.split('\n').filter((l) => l.includes('zero-copy completions vs stack.net'));
  assert.equal(rows.length, 3, r.out);
  for (const row of rows) assert.match(row, /trip\/s .*\(stack\.net streams\)\s+\d+\.\d\d×$/);
});

test('shoal bench shards: 1 and 2 shards in workers side by side, each 2-shard row with its ratio to one shard, and per-shard counters', () => {
  const r = shoalWith({ SHOAL_BENCH_REPS: '1' }, 'bench', 'shards', '--seconds', '0.3');
  assert.equal(r.code, 0, r.err);
  const rows = r.out.split('\n').filter((l) => l.startsWith('shards (memory link, workers)'));
  assert.equal(rows.length, 9, r.out);
  for (const row of rows.filter((l) => l.includes('2 shards'))) assert.match(row, /\(1 shard\)\s+\d+\.\d\d×$/);
  for (const w of ['conn', 'rr', 'bulk']) {
    assert.match(r.out, new RegExp(`${w}, 2 shards \\(median\\), shard 1: server rx \\d+ tx \\d+ forwarded \\d+`), `per-shard counters of ${w}`);
  }
  // With the flows split, frames cross between the shards; aligned, only the ARP exchange does.
  const forwarded = [...r.out.matchAll(/conn, 2 shards, flows split \(median\), shard \d: server rx \d+ tx \d+ forwarded (\d+)/g)].map((m) => Number(m[1]));
  assert.ok(forwarded.reduce((a, b) => a + b, 0) > 100, r.out);
});

test('shoal bench: --help, and a bad case or flag gets one line and exit code 2', () => {
  assert.equal(shoal('bench', '--help').code, 0);
  for (const [args, pattern] of [
    [['bench', 'everything'], /bench takes one of all, stack, api, shards, tap/],
    [['bench', 'api', '--seconds', '0'], /--seconds takes a number/],
  ] as const) {
    const r = shoal(...args);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, pattern);
    assert.equal(r.err.trim().split('\n').length, 1);
  }
});
