/**
 * `shoal demo` run as a user runs it: the built CLI in a child process, its output read
 * back. Each run gets its own TMPDIR, so the test also sees that the served folder is
 * removed at exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand, requireOrSkip } from '../support/require.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const WORKLOADS = ['memcached', 'http', 'churn'];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
  /** What the run left in its TMPDIR. */
  leftovers: string[];
}

function shoal(args: string[], timeout = 60_000): Run {
  const tmp = mkdtempSync(join(tmpdir(), 'shoal-demo-test-'));
  try {
    const started = performance.now();
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout, env: { ...process.env, TMPDIR: tmp } });
    return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr, ms: performance.now() - started, leftovers: readdirSync(tmp) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

interface Row {
  requests: number;
  rate: number;
  gbits: number;
  p50: number;
  p99: number;
  p999: number;
  errors: number;
}

const num = (s: string | undefined): number => Number((s ?? '').replaceAll(',', ''));

/** The final table's row of each workload. */
function table(out: string): Map<string, Row> {
  const lines = out.split('\n');
  const header = lines.findIndex((l) => /^\s*workload\s+requests\s+req\/s\s+payload Gbit\/s\s+p50 ms\s+p99 ms\s+p99\.9 ms\s+errors\s*$/.test(l));
  assert.ok(header >= 0, `no table header in:\n${out}`);
  const rows = new Map<string, Row>();
  for (const line of lines.slice(header + 1)) {
    const cells = line.trim().split(/\s+/);
    if (cells.length !== 8) break;
    const [name, ...v] = cells;
    rows.set(name!, { requests: num(v[0]), rate: num(v[1]), gbits: num(v[2]), p50: num(v[3]), p99: num(v[4]), p999: num(v[5]), errors: num(v[6]) });
  }
  return rows;
}

function assertHealthy(r: Run, what: string): Map<string, Row> {
  assert.equal(r.code, 0, `${what}: exit ${r.code} ${r.signal ?? ''}\n${r.out}\n${r.err}`);
  const rows = table(r.out);
  assert.deepEqual([...rows.keys()], WORKLOADS, r.out);
  for (const [name, row] of rows) {
    assert.ok(row.requests > 0 && row.rate > 0, `${what}: ${name} completed requests\n${r.out}`);
    assert.equal(row.errors, 0, `${what}: ${name} errors\n${r.out}`);
    assert.ok(row.p50 > 0 && row.p50 <= row.p99 && row.p99 <= row.p999, `${what}: ${name} p50 ≤ p99 ≤ p99.9\n${r.out}`);
    assert.ok(Number.isFinite(row.gbits) && row.gbits >= 0, r.out);
  }
  assert.ok(rows.get('http')!.gbits > 0, `http moves bodies\n${r.out}`);
  assert.deepEqual(r.leftovers, [], 'the served folder is removed at exit');
  return rows;
}

test('shoal demo --duration 2: progress lines, then the table of the three workloads, all without errors; exits promptly', () => {
  const r = shoal(['demo', '--duration', '2']);
  assertHealthy(r, 'demo --duration 2');
  assert.ok(r.ms < 20_000, `took ${r.ms.toFixed(0)} ms`);
  // Not a TTY: plain lines, one a second, no carriage returns.
  assert.ok(!r.out.includes('\r'), 'no \\r when stdout is not a terminal');
  const progress = r.out.split('\n').filter((l) => /^\s*\d+\.\d s\s+memcached \S+\/s\s+http \S+\/s\s+churn \S+\/s\s+\|\s+[\d.]+ Gbit\/s\s+\|\s+conns \d+ open, \S+ TIME_WAIT, \S+ new\/s$/.test(l));
  assert.ok(progress.length >= 1 && progress.length <= 3, `progress lines:\n${r.out}`);
  assert.match(r.out, /^ {2}switch: [\d,]+ frames sent by 4 hosts, [\d.]+ GB.*; [\d,]+ dropped \(0 by the faults/m);
  assert.match(r.out, /^ {2}memcached: \d+ gets \(100\.0% hits\), \d+ sets$/m, 'the key space was filled first: every get hits');
  assert.match(r.out, /^ {2}tcp: [\d,]+ connections accepted by the server, [\d,]+ segments retransmitted$/m);
  assert.equal(r.err, '');
});

test('shoal demo with --loss and --delay on the load generators: TCP recovers, still no errors', () => {
  const r = shoal(['demo', '--duration', '1.5', '--connections', '4', '--loss', '0.01', '--delay', '1', '--seed', '3']);
  assertHealthy(r, 'demo with faults');
  const dropped = /; ([\d,]+) dropped \(([\d,]+) by the faults/.exec(r.out);
  assert.ok(dropped && num(dropped[2]) > 0, `the loss fault dropped frames\n${r.out}`);
  const tcp = /tcp: [\d,]+ connections accepted by the server, ([\d,]+) segments retransmitted/.exec(r.out);
  assert.ok(tcp && num(tcp[1]) > 0, `TCP retransmitted\n${r.out}`);
  assert.match(r.out, /frames to the load generators: loss 0\.01, delay 1 ms/);
});

test('shoal demo --pcap: a capture of the server that tshark reads without a malformed packet', (t) => {
  if (!requireOrSkip(t, hasCommand('tshark'), 'tshark is not installed (apt-get install tshark)')) return;
  const dir = mkdtempSync(join(tmpdir(), 'shoal-demo-pcap-'));
  try {
    const pcap = join(dir, 'server.pcap');
    const r = shoal(['demo', '--duration', '1', '--connections', '2', '--pcap', pcap]);
    assertHealthy(r, 'demo --pcap');
    const said = /capture of the server's frames: (.+) \(([\d,]+) frames, ([\d.]+) MiB/.exec(r.out);
    assert.ok(said, r.out);
    assert.equal(said[1], pcap);
    assert.ok(statSync(pcap).size <= 64 * 1024 * 1024 + 1024 * 1024, 'the capture is capped');
    const malformed = execFileSync('tshark', ['-n', '-r', pcap, '-Y', '_ws.malformed'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(malformed.trim(), '', `tshark flagged:\n${malformed.slice(0, 2000)}`);
    const frames = execFileSync('tshark', ['-n', '-r', pcap, '-T', 'fields', '-e', 'frame.number', '-e', 'frame.protocols', '-e', 'tcp.srcport'], { encoding: 'utf8', maxBuffer: 256 << 20 })
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    assert.equal(frames.length, num(said[2]), 'tshark reads as many frames as the demo wrote');
    assert.ok(frames.some(([, protocols]) => protocols === 'eth:ethertype:arp'), 'ARP resolved the hosts');
    for (const port of ['11211', '80']) assert.ok(frames.some(([, , src]) => src === port), `the server answers on port ${port}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shoal demo: SIGINT ends the load early, with the report and the folder removed', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'shoal-demo-test-'));
  try {
    const child = spawn(process.execPath, [CLI, 'demo', '--duration', '600', '--connections', '2'], { env: { ...process.env, TMPDIR: tmp } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      // Interrupted once the load is running (the first progress line).
      if (/ s\s+memcached /.test(out) && child.exitCode === null && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => {
      const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('exit', (c) => {
        clearTimeout(guard);
        resolve(c);
      });
    });
    assertHealthy({ code, signal: null, out, err: '', ms: 0, leftovers: readdirSync(tmp) }, 'interrupted demo');
    assert.match(out, /interrupted: stopping the load/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('shoal demo --help, and bad flags: one clear line and exit code 2', () => {
  const help = shoal(['demo', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: shoal demo/);
  for (const w of ['memcached', 'keep-alive', 'churn', '--duration', '--connections', '--seed', '--loss', '--delay', '--pcap']) assert.ok(help.out.includes(w), `help mentions ${w}`);
  assert.match(shoal(['--help']).out, /Commands:\n\s+demo\s+memcached and http servers/);
  for (const [args, pattern] of [
    [['demo', '--duration', '-1'], /^shoal demo: .*--duration/],
    [['demo', '--duration=-1'], /^shoal demo: --duration takes a number from 0\.1 to 86400, got '-1'/],
    [['demo', '--duration', '0'], /^shoal demo: --duration takes a number/],
    [['demo', '--connections', 'x'], /^shoal demo: --connections takes a whole number from 1 to 1024, got 'x'/],
    [['demo', '--connections', '2.5'], /^shoal demo: --connections takes a whole number/],
    [['demo', '--loss', '2'], /^shoal demo: --loss takes a number from 0 to 0\.5, got '2'/],
    [['demo', '--seed', 'abc'], /^shoal demo: --seed takes a whole number/],
    [['demo', '--pcap='], /^shoal demo: --pcap takes a file name/],
    [['demo', '--bogus'], /^shoal demo: Unknown option '--bogus'.*see shoal demo --help/],
    [['demo', 'extra'], /^shoal demo: unexpected argument 'extra'/],
    [['fly'], /^shoal: unknown command 'fly'/],
  ] as const) {
    const r = shoal([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, pattern, args.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    assert.equal(r.out, '', `${args.join(' ')}: nothing on stdout`);
  }
});
