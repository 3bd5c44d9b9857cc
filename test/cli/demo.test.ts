import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

function shoal(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The value of a row of the demo's table. */
function row(out: string, label: string): string {
  const line = out.split('\n').find((l) => l.trim().startsWith(label));
  assert.ok(line, `no row '${label}' in:\n${out}`);
  return line.trim().slice(label.length).trim();
}

test('shoal demo: runs to the end, every datagram accounted for, the capture written, no frame leaked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-demo-'));
  try {
    const pcap = join(dir, 'demo.pcap');
    const r = shoal('demo', '--frames', '3000', '--seed', '7', '--pcap', pcap);
    assert.equal(r.code, 0, r.err);
    assert.equal(row(r.out, 'datagrams sent by A'), '3000');
    const atB = Number(row(r.out, 'distinct datagrams at B').split(' ')[0]);
    assert.ok(atB > 2800 && atB < 3000, `with 2% loss most but not all arrive: ${atB}`);
    assert.equal(row(r.out, 'frames in use after the run (pools)'), '0');
    assert.ok(statSync(pcap).size > 3000 * 100);
    // The same seed gives the same run.
    const again = shoal('demo', '--frames', '3000', '--seed', '7', '--pcap', 'none');
    assert.equal(row(again.out, 'distinct datagrams at B'), row(r.out, 'distinct datagrams at B'));
    assert.equal(row(again.out, 'round trip p50 / p99 / max (virtual ms)'), row(r.out, 'round trip p50 / p99 / max (virtual ms)'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shoal demo: with no faults everything arrives and comes back', () => {
  const r = shoal('demo', '--frames', '1000', '--loss', '0', '--duplicate', '0', '--reorder', '0', '--corrupt', '0', '--pcap', 'none');
  assert.equal(r.code, 0, r.err);
  assert.match(row(r.out, 'echoes back at A'), /^1000 \(100\.00%\)/);
});

test('shoal: a bad flag, value or command gets one clear line and exit code 2', () => {
  for (const [args, pattern] of [
    [['demo', '--bogus'], /^shoal demo: Unknown option '--bogus'.*see shoal demo --help/],
    [['demo', '--loss', '2'], /^shoal demo: --loss takes a number from 0 to 1, got '2'/],
    [['demo', '--frames', 'many'], /^shoal demo: --frames takes a number/],
    [['fly'], /^shoal: unknown command 'fly'/],
  ] as const) {
    const r = shoal(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, pattern);
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  }
  const help = shoal('demo', '--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: shoal demo/);
  assert.match(shoal('--help').out, /Commands:\n\s+demo/);
});
