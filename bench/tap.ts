/**
 * Shoal on a TAP against the Linux kernel, side by side with the kernel against itself
 * over a veth pair, on the same workloads and the same load generator (issue 6):
 * - bulk, one connection, kernel → peer and peer → kernel (Gbit/s);
 * - 1-byte request/response, one connection, noDelay (round trips/s).
 * Every address lives in namespaces this benchmark creates and deletes (also on
 * failure): the TAP's kernel side at 10.77.0.1/24 (Shoal is 10.77.0.2 in this process),
 * the veth pair at 10.78.0.1/24 and 10.78.0.2/24 in two more. Needs root and the native
 * addon; without them it says why and gives no rows.
 *
 * `node dist/bench/tap.js` runs it on its own; SHOAL_BENCH_SECONDS sets each case's time.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Duplex } from 'node:stream';
import { Host } from '../src/api/host.js';
import { TapDevice } from '../src/link/tap/device.js';
import { tapUnavailable } from '../src/link/tap/native.js';
import { RealClock } from '../src/time/clock.js';
import { EventLoop } from '../src/time/loop.js';
import { printTable, type BenchRow } from './harness.js';

const run = promisify(execFile);
const SECONDS = Number(process.env['SHOAL_BENCH_SECONDS'] ?? 3);

/**
 * The load generator and the sinks, the same code on every side: `send HOST PORT S`
 * writes for S seconds; `sink PORT` counts and prints MB received per second of the
 * connection's life; `echo PORT` answers every byte; `rr HOST PORT S` sends one byte and
 * waits for it, for S seconds, and prints round trips per second.
 */
export const LOAD_SCRIPT = `
const net = require('node:net');
const [mode, a, b, c] = process.argv.slice(1);
const chunk = Buffer.alloc(65536, 0x5a);
if (mode === 'sink' || mode === 'echo') {
  net.createServer((s) => {
    s.setNoDelay(true);
    let bytes = 0, t0 = 0;
    s.on('data', (d) => { if (!t0) t0 = performance.now(); bytes += d.length; if (mode === 'echo') s.write(d); });
    s.on('end', () => { if (mode === 'sink') console.log(JSON.stringify({ mbps: bytes / 1e6 / ((performance.now() - t0) / 1000) })); s.end(); process.exit(0); });
    s.on('error', () => process.exit(1));
  }).listen(Number(a), () => console.log('READY'));
} else if (mode === 'send') {
  const s = net.connect(Number(b), a, () => {
    const end = performance.now() + Number(c) * 1000;
    const pump = () => { while (performance.now() < end) { if (!s.write(chunk)) return s.once('drain', pump); } s.end(); };
    pump();
  });
  s.on('close', () => process.exit(0));
} else if (mode === 'rr') {
  const s = net.connect(Number(b), a, () => {
    s.setNoDelay(true);
    const end = performance.now() + Number(c) * 1000;
    const t0 = performance.now();
    let trips = 0;
    s.on('data', () => { trips++; if (performance.now() < end) s.write('x'); else { console.log(JSON.stringify({ rate: trips / ((performance.now() - t0) / 1000) })); s.destroy(); process.exit(0); } });
    s.write('x');
  });
}
`;

class Namespaces {
  readonly tag = randomBytes(3).toString('hex');
  readonly created: string[] = [];
  readonly children = new Set<ChildProcess>();

  async add(name: string): Promise<string> {
    const ns = `shoal-bench-${name}-${this.tag}`;
    await run('ip', ['netns', 'add', ns]);
    this.created.push(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['netns', 'exec', ns, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6']);
    return ns;
  }

  /** `node -e LOAD_SCRIPT ...args` in `ns`; resolves with its JSON line (or 'READY' for servers, once listening). */
  load(ns: string, args: string[], waitReady: boolean): { ready: Promise<void>; result: Promise<Record<string, number>> } {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', LOAD_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    let out = '';
    let readyResolve: () => void = () => {};
    const ready = new Promise<void>((r) => (readyResolve = r));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (waitReady && out.includes('READY')) readyResolve();
    });
    const result = new Promise<Record<string, number>>((resolve, reject) => {
      child.once('exit', (code) => {
        this.children.delete(child);
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line !== undefined) resolve(JSON.parse(line) as Record<string, number>);
        else if (code === 0) resolve({});
        else reject(new Error(`load generator ${args[0]} exited ${code}: ${out}`));
      });
    });
    if (!waitReady) readyResolve();
    return { ready, result };
  }

  async close(): Promise<void> {
    for (const c of this.children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
    for (const ns of this.created) await run('ip', ['netns', 'del', ns]).catch(() => {});
  }
}

async function bulkFromKernel(n: Namespaces, ns: string, sinkPort: number, to: string, listen: () => Promise<() => Promise<number>>): Promise<number> {
  const measure = await listen();
  const sender = n.load(ns, ['send', to, String(sinkPort), String(SECONDS)], false);
  await sender.result;
  return measure();
}

export async function tapBenchmarks(): Promise<BenchRow[]> {
  const why = tapUnavailable();
  if (why !== null) {
    console.log(`tap benchmark skipped: ${why}`);
    return [];
  }
  const n = new Namespaces();
  let tap: TapDevice | null = null;
  let loop: EventLoop | null = null;
  let host: Host | null = null;
  try {
    // The reference: kernel to kernel over a veth pair.
    const v1 = await n.add('v1');
    const v2 = await n.add('v2');
    const va = `shv1${n.tag}`;
    const vb = `shv2${n.tag}`;
    await run('ip', ['-n', v1, 'link', 'add', va, 'type', 'veth', 'peer', 'name', vb, 'netns', v2]);
    await run('ip', ['-n', v1, 'addr', 'add', '10.78.0.1/24', 'dev', va]);
    await run('ip', ['-n', v2, 'addr', 'add', '10.78.0.2/24', 'dev', vb]);
    await run('ip', ['-n', v1, 'link', 'set', va, 'up']);
    await run('ip', ['-n', v2, 'link', 'set', vb, 'up']);
    // Shoal: a TAP whose kernel side is in its own namespace.
    const k = await n.add('k');
    const tapName = `shbt${n.tag}`;
    tap = TapDevice.open({ name: tapName });
    await run('ip', ['link', 'set', tapName, 'netns', k]);
    await run('ip', ['-n', k, 'addr', 'add', '10.77.0.1/24', 'dev', tapName]);
    await run('ip', ['-n', k, 'link', 'set', tapName, 'up']);
    loop = new EventLoop(new RealClock());
    tap.attach(loop);
    host = new Host({ device: tap, address: '10.77.0.2/24', loop });
    loop.start();
    const h = host;

    // Bulk kernel → peer.
    const vethIn = await (async () => {
      const sink = n.load(v2, ['sink', '5301'], true);
      await sink.ready;
      await n.load(v1, ['send', '10.78.0.2', '5301', String(SECONDS)], false).result;
      return (await sink.result)['mbps']!;
    })();
    const shoalIn = await bulkFromKernel(n, k, 5302, '10.77.0.2', async () => {
      let bytes = 0;
      let t0 = 0;
      let t1 = 0;
      const server = h.net.createServer((s) => {
        s.on('data', (d: Buffer) => {
          if (t0 === 0) t0 = performance.now();
          bytes += d.length;
          t1 = performance.now();
        });
        s.on('error', () => {});
      });
      await new Promise<void>((r) => server.listen(5302, r));
      return async () => {
        server.close();
        return bytes / 1e6 / ((t1 - t0) / 1000);
      };
    });

    // Bulk peer → kernel (Shoal sends; the kernel's sink measures).
    const shoalOut = await (async () => {
      const sink = n.load(k, ['sink', '5303'], true);
      await sink.ready;
      const chunk = new Uint8Array(65536).fill(0x5a);
      await new Promise<void>((resolve, reject) => {
        const s: Duplex = h.net.connect(5303, '10.77.0.1', () => {
          const end = performance.now() + SECONDS * 1000;
          const pump = (): void => {
            while (performance.now() < end) if (!s.write(chunk)) return void s.once('drain', pump);
            s.end();
          };
          pump();
        });
        s.on('close', () => resolve());
        s.on('error', reject);
      });
      return (await sink.result)['mbps']!;
    })();

    // 1-byte request/response: the kernel's client against an echo server.
    const vethRr = await (async () => {
      const echo = n.load(v2, ['echo', '5304'], true);
      await echo.ready;
      const r = (await n.load(v1, ['rr', '10.78.0.2', '5304', String(SECONDS)], false).result)['rate']!;
      await echo.result.catch(() => {});
      return r;
    })();
    const shoalRr = await (async () => {
      const server = h.net.createServer({ noDelay: true }, (s) => {
        s.on('data', (d: Buffer) => s.write(d));
        s.on('error', () => {});
      });
      await new Promise<void>((r) => server.listen(5305, r));
      const r = (await n.load(k, ['rr', '10.77.0.2', '5305', String(SECONDS)], false).result)['rate']!;
      server.close();
      return r;
    })();

    const group = 'tap (Linux kernel on the other end)';
    const ref = 'kernel ↔ kernel, veth';
    const gbit = (mbps: number): number => (mbps * 8) / 1000;
    return [
      { group, name: 'bulk, kernel → Shoal, 1 conn (target ≥ 6 Gbit/s)', value: gbit(shoalIn), unit: 'Gbit/s', reference: { name: ref, value: gbit(vethIn) } },
      { group, name: 'bulk, Shoal → kernel, 1 conn (target ≥ 6 Gbit/s)', value: gbit(shoalOut), unit: 'Gbit/s', reference: { name: ref, value: gbit(vethIn) } },
      { group, name: '1-byte request/response, kernel client, 1 conn (target ≥ 1.0× veth)', value: shoalRr, unit: 'trip/s', reference: { name: ref, value: vethRr } },
    ];
  } finally {
    host?.close();
    loop?.stop();
    tap?.close();
    await n.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printTable(await tapBenchmarks());
  process.exit(0);
}
