import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

function shoal(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('shoal bench api: the table of the API rows, each with its reference and a ratio', () => {
  const r = shoal('bench', 'api', '--seconds', '0.2');
  assert.equal(r.code, 0, r.err);
  const rows = r.out.split('\n').filter((l) => l.includes('zero-copy completions vs stack.net'));
  assert.equal(rows.length, 3, r.out);
  for (const row of rows) assert.match(row, /trip\/s .*\(stack\.net streams\)\s+\d+\.\d\d×$/);
});

test('shoal bench: --help, and a bad case or flag gets one line and exit code 2', () => {
  assert.equal(shoal('bench', '--help').code, 0);
  for (const [args, pattern] of [
    [['bench', 'everything'], /bench takes one of all, stack, api, tap/],
    [['bench', 'api', '--seconds', '0'], /--seconds takes a number/],
  ] as const) {
    const r = shoal(...args);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, pattern);
    assert.equal(r.err.trim().split('\n').length, 1);
  }
});
