/**
 * `shoal serve` and `shoal ping` on a TAP link against the Linux kernel, in a network
 * namespace this test creates (10.77.0.1/24 kernel side, 10.77.0.2/24 Shoal), deleted
 * at the end also on failure. The CLI process creates the TAP; the test moves its kernel
 * side into the namespace (the CLI's fd keeps working) and talks to Shoal from there.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { requireTap } from '../link/tap-netns.js';
import { hasCommand } from '../support/require.js';

const run = promisify(execFile);
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

/** A namespace and a TAP name; the CLI child is started by `start`, everything undone by `close`. */
class World {
  readonly ns = `shoal-cli-${randomBytes(4).toString('hex')}`;
  readonly tap = `shcli${randomBytes(4).toString('hex')}`;
  readonly children: ChildProcess[] = [];
  output = '';

  async open(): Promise<void> {
    await run('ip', ['netns', 'add', this.ns]);
    await run('ip', ['netns', 'exec', this.ns, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6']);
    await run('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
  }

  /** Starts `shoal ...args` (in the namespace with `inside`); resolves once its output matches `ready`. */
  start(args: string[], ready: RegExp, inside = false): Promise<ChildProcess> {
    const argv = [process.execPath, CLI, ...args];
    const child = inside ? spawn('ip', ['netns', 'exec', this.ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${ready}' in: ${this.output}`)), 10_000);
      const seen = (d: Buffer): void => {
        this.output += d.toString();
        if (ready.test(this.output)) {
          clearTimeout(timer);
          resolve(child);
        }
      };
      child.stdout!.on('data', seen);
      child.stderr!.on('data', seen);
      child.once('exit', (code) => reject(new Error(`shoal exited (${code}): ${this.output}`)));
    });
  }

  /** The TAP the CLI created goes into the namespace with the kernel's address. */
  async plugIn(): Promise<void> {
    await run('ip', ['link', 'set', this.tap, 'netns', this.ns]);
    await run('ip', ['-n', this.ns, 'addr', 'add', '10.77.0.1/24', 'dev', this.tap]);
    await run('ip', ['-n', this.ns, 'link', 'set', this.tap, 'up']);
  }

  exec(cmd: string, args: string[]): Promise<{ stdout: string }> {
    return run('ip', ['netns', 'exec', this.ns, cmd, ...args], { timeout: 20_000 });
  }

  async close(): Promise<void> {
    for (const c of this.children) {
      if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
        process.kill(c.pid, 'SIGKILL');
        await new Promise((r) => c.once('exit', r));
      }
    }
    await run('ip', ['netns', 'del', this.ns]).catch(() => {});
    // A TAP that no fd holds goes away; check nothing of ours is left.
    const { stdout } = await run('ip', ['-o', 'link', 'show']);
    assert.ok(!stdout.includes(this.tap), `interface ${this.tap} left behind`);
  }
}

async function withWorld(t: TestContext, commands: string[], fn: (w: World) => Promise<void>): Promise<void> {
  if (!requireTap(t, ...commands)) return;
  const w = new World();
  try {
    await w.open();
    await fn(w);
  } finally {
    await w.close();
  }
}

test('shoal serve http on a TAP: curl from the kernel gets the file, ping gets replies, Ctrl-C stops it cleanly', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-serve-test-'));
  try {
    writeFileSync(join(dir, 'hello.txt'), 'hello from shoal serve\n');
    await withWorld(t, ['curl', 'ping'], async (w) => {
      const pcap = join(dir, 'serve.pcap');
      const child = await w.start(['serve', 'http', '--link', `tap:${w.tap}`, '--ip', '10.77.0.2/24', '--root', dir, '--stats', '--pcap', pcap, '--shards', '1'], /shoal serve: http on 10\.77\.0\.2:80/);
      await w.plugIn();
      const { stdout } = await w.exec('curl', ['-sS', '--max-time', '10', 'http://10.77.0.2/hello.txt']);
      assert.equal(stdout, 'hello from shoal serve\n');
      const ping = await w.exec('ping', ['-c', '2', '-W', '2', '10.77.0.2']);
      assert.match(ping.stdout, /2 received/);
      await new Promise((r) => setTimeout(r, 1100)); // one --stats line
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      process.kill(child.pid!, 'SIGINT');
      assert.equal(await exited, 0, w.output);
      assert.match(w.output, /shoal serve: stopped/);
      assert.match(w.output, /rx \d+ frames \d+ B, tx \d+ frames/, 'a --stats line');
      // The capture was flushed at Ctrl-C: tshark finds the HTTP exchange in it.
      if (hasCommand('tshark')) {
        const { stdout: http } = await run('tshark', ['-r', pcap, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.uri'], { timeout: 60_000 });
        assert.match(http, /\/hello\.txt/);
        const { stdout: malformed } = await run('tshark', ['-r', pcap, '-Y', '_ws.malformed || _ws.expert.severity == error'], { timeout: 60_000 });
        assert.equal(malformed.trim(), '', 'no malformed packet in the capture');
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shoal ping on a TAP: replies from the kernel, with ping(8)\'s summary', async (t) => {
  await withWorld(t, [], async (w) => {
    const child = await w.start(['ping', '10.77.0.1', '--link', `tap:${w.tap}`, '--ip', '10.77.0.2/24', '--count', '4', '--interval', '0.5'], /^PING 10\.77\.0\.1/m);
    await w.plugIn();
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    // The first request may go before the kernel side is up; the later ones are answered.
    const received = Number(/(\d+) received/.exec(w.output)?.[1] ?? -1);
    assert.ok(received >= 2, w.output);
    assert.equal(code, 0, w.output);
  });
});

test('shoal serve http --shards 2 on a TAP: each shard on its own queue; curl gets the file over many connections, --stats prints a line per shard, --metrics serves every counter per shard to a real scrape, each shard captures its own pcap, and Ctrl-C leaves no temporary folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-serve-shards-'));
  const tempsBefore = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('shoal-serve-')));
  try {
    await withWorld(t, ['curl'], async (w) => {
      const pcap = join(dir, 'serve.pcap');
      const child = await w.start(['serve', 'http', '--link', `tap:${w.tap}`, '--ip', '10.77.0.2/24', '--shards', '2', '--stats', '--pcap', pcap, '--metrics', '127.0.0.1:0'], /shoal serve: http on 10\.77\.0\.2:80 .*2 shards.*metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
      await w.plugIn();
      // 20 connections from the kernel (new source ports each): they spread over both shards.
      const urls = Array.from({ length: 20 }, () => 'http://10.77.0.2/');
      const { stdout } = await w.exec('curl', ['-sS', '--max-time', '10', ...urls.flatMap((u) => ['-H', 'Connection: close', u])]);
      assert.equal(stdout.match(/Served by Shoal/g)?.length, 20, stdout);
      await new Promise((r) => setTimeout(r, 2200)); // two --stats rounds
      // A real scrape of the metrics (on this side's loopback), parsed as Prometheus would.
      const url = /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(w.output)![1]!;
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const families = parsePrometheusTextFormat(await page.text());
      const family = (name: string) => families.find((f) => f.name === name);
      for (const f of families) {
        assert.match(f.name, /^shoal_[a-z0-9_]+$/);
        assert.ok(f.help.length > 0, `${f.name} has HELP`);
        assert.ok(f.type === 'COUNTER' ? f.name.endsWith('_total') : f.type === 'GAUGE', `${f.name}: ${f.type}`);
      }
      const rx = family('shoal_queue_rx_frames_total');
      assert.deepEqual(rx?.metrics.map((m) => m.labels?.['shard']).sort(), ['0', '1'], 'a sample per shard');
      assert.ok(rx!.metrics.every((m) => Number(m.value) > 0), 'each shard received frames');
      assert.ok(Number(family('shoal_tcp_passive_opens_total')?.metrics.reduce((n, m) => n + Number(m.value), 0)) >= 20, 'the 20 connections are counted');
      assert.ok(family('shoal_tcp_connections')?.metrics.some((m) => m.labels?.['state'] === 'listen'), 'connections by state');
      assert.ok(family('shoal_steering_forwarded_total') && family('shoal_forward_drops_in_flight_total') && family('shoal_ipv4_in_receives_total') !== undefined, 'steering, forwarding and every layer');
      assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      process.kill(child.pid!, 'SIGINT');
      assert.equal(await exited, 0, w.output);
      assert.match(w.output, /shoal serve: stopped/);
      for (const s of [0, 1]) assert.match(w.output, new RegExp(`shard ${s}: rx \\d+ frames \\d+ B, tx \\d+ frames \\d+ B \\(now rx`), `a --stats line for shard ${s}`);
      assert.match(w.output, /total: rx \d+ frames .*; tcp .*time-wait; retransmitted \d+ segments/);
      // Each shard drove its queue (a frame of its own at least), each captured to its own file.
      for (const s of [0, 1]) assert.ok(statSync(join(dir, `serve.shard${s}.pcap`)).size > 24, `shard ${s}'s capture has frames`);
    });
    const left = readdirSync(tmpdir()).filter((n) => n.startsWith('shoal-serve-') && !tempsBefore.has(n) && !join(tmpdir(), n).startsWith(dir));
    assert.deepEqual(left, [], 'no temporary folder left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shoal serve --kernel-ip, run inside the namespace: the TAP is made there, its kernel side gets the address and comes up, and curl reaches Shoal with no other set-up', async (t) => {
  await withWorld(t, ['curl'], async (w) => {
    const child = await w.start(['serve', 'http', '--link', `tap:${w.tap}`, '--ip', '10.77.0.2/24', '--kernel-ip', '10.77.0.1/24', '--shards', '2'], /shoal serve: http on 10\.77\.0\.2:80/, true);
    const { stdout: addr } = await w.exec('ip', ['-o', 'addr', 'show', 'dev', w.tap]);
    assert.match(addr, /inet 10\.77\.0\.1\/24/);
    const { stdout } = await w.exec('curl', ['-sS', '--max-time', '10', 'http://10.77.0.2/']);
    assert.match(stdout, /Served by Shoal/);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    process.kill(child.pid!, 'SIGINT');
    assert.equal(await exited, 0, w.output);
  });
});

test('shoal serve/ping: bad flags and a missing link get one line and exit code 2', async () => {
  for (const [args, pattern] of [
    [['serve', 'http', '--link', 'tap:x', '--ip', '10.0.0.1/24', '--root', '/no/such/folder'], /--root \/no\/such\/folder: no such folder/],
    [['serve', 'http', '--link', 'tap:x', '--ip', '10.0.0.1/24', '--shards', '0'], /--shards/],
    [['serve', 'echo', '--link', 'tap:x', '--ip', '10.0.0.1/24', '--kernel-ip', '10.0.0.1'], /--kernel-ip takes an address with a prefix length/],
    [['serve', 'echo', '--link', 'tap:x', '--ip', '10.0.0.1/24', '--metrics', 'here'], /--metrics takes HOST:PORT or PORT/],
    [['serve', 'http', '--ip', '10.0.0.1/24'], /--link is required/],
    [['serve', 'http', '--link', 'tap:x', '--ip', '10.0.0.1/24', '--dhcp'], /--ip and --dhcp do not go together/],
    [['serve', 'http', '--link', 'tap:x'], /--ip \(or --dhcp\) is required/],
    [['serve', 'ftp', '--link', 'tap:x', '--ip', '10.0.0.1/24'], /serve takes one of echo, http, memcached/],
    [['serve', 'echo', '--link', 'eth0', '--ip', '10.0.0.1/24'], /--link takes tap:NAME/],
    [['serve', 'echo', '--link', 'tap:x', '--ip', '10.0.0.1'], /--ip takes an address with a prefix length/],
    [['ping', 'example.com', '--link', 'tap:x', '--ip', '10.0.0.1/24'], /ping takes an IPv4 address/],
    [['ping', '10.0.0.2', '--link', 'tap:x', '--ip', '10.0.0.1/24', '--count', 'x'], /--count takes a whole number/],
  ] as const) {
    const r = await run(process.execPath, [CLI, ...args]).then(
      () => ({ code: 0, err: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, err: e.stderr }),
    );
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, pattern);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});

for (const shards of [1, 2, 4]) {
  test(`shoal serve memcached --shards ${shards} on a TAP: memccapable -a (libmemcached-tools) passes every text-protocol test from the kernel side`, async (t) => {
    await withWorld(t, ['memccapable'], async (w) => {
      await w.start(['serve', 'memcached', '--link', `tap:${w.tap}`, '--ip', '10.77.0.2/24', '--shards', String(shards)], /shoal serve: memcached on 10\.77\.0\.2:11211/);
      await w.plugIn();
      const { stdout } = await w.exec('memccapable', ['-a', '-h', '10.77.0.2', '-p', '11211', '-t', '10']);
      assert.match(stdout, /All tests passed/, stdout);
      assert.doesNotMatch(stdout, /\[fail\]/);
    });
  });
}

test('shoal serve http on a TAP: a 10 MB POST /echo with curl comes back unchanged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-serve-post-'));
  try {
    const body = join(dir, 'body.bin');
    const data = Buffer.alloc(10 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >>> 10)) & 0xff;
    writeFileSync(body, data);
    await withWorld(t, ['curl', 'sha256sum'], async (w) => {
      await w.start(['serve', 'http', '--link', `tap:${w.tap}`, '--ip', '10.77.0.2/24', '--root', dir], /shoal serve: http on/);
      await w.plugIn();
      const out = join(dir, 'echoed.bin');
      await w.exec('curl', ['-sS', '--max-time', '60', '--data-binary', `@${body}`, '-H', 'Content-Type: application/octet-stream', '-o', out, 'http://10.77.0.2/echo']);
      const { stdout } = await run('sha256sum', [body, out]);
      const [a, b] = stdout.trim().split('\n').map((l) => l.split(' ')[0]);
      assert.equal(b, a, 'the echo has the same SHA-256');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shoal serve echo --dhcp on a TAP: the address comes from dnsmasq in the namespace, then the kernel reaches the server', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-serve-dhcp-'));
  try {
    await withWorld(t, ['dnsmasq', 'ping'], async (w) => {
      const child = spawn(process.execPath, [CLI, 'serve', 'echo', '--link', `tap:${w.tap}`, '--dhcp'], { stdio: ['ignore', 'pipe', 'pipe'] });
      w.children.push(child);
      const serving = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no lease: ${w.output}`)), 30_000);
        const seen = (d: Buffer): void => {
          w.output += d.toString();
          const m = /echo on (10\.77\.0\.\d+):7/.exec(w.output);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        child.stdout!.on('data', seen);
        child.stderr!.on('data', seen);
        child.once('exit', (code) => reject(new Error(`shoal exited (${code}): ${w.output}`)));
      });
      // The TAP appears once the CLI has opened it; then it goes into the namespace, and dnsmasq serves it there.
      for (let i = 0; i < 100; i++) {
        const { stdout } = await run('ip', ['-o', 'link', 'show']);
        if (stdout.includes(`${w.tap}:`)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await w.plugIn();
      const dnsmasq = spawn('ip', ['netns', 'exec', w.ns, 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--log-facility=-', '--port=0', '--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0,2m', `--dhcp-leasefile=${join(dir, 'leases')}`, `--interface=${w.tap}`, '--bind-interfaces', '--no-resolv', '--no-hosts'], { stdio: ['ignore', 'ignore', 'ignore'] });
      w.children.push(dnsmasq);
      const address = await serving;
      const ping = await w.exec('ping', ['-c', '2', '-W', '2', address]);
      assert.match(ping.stdout, /2 received/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
