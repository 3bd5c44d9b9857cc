/**
 * Shoal on a TAP against the Linux kernel, side by side with the kernel against itself
 * over a veth pair, on the same workloads and the same load generators (issue 6):
 * - bulk, one connection, kernel → peer and peer → kernel (Gbit/s; both with their default,
 *   autotuned socket buffers);
 * - 1-byte request/response, one connection, noDelay (round trips/s);
 * - connections/s: connect, 32 bytes each way, close, in 8 concurrent loops;
 * - memcached: Shoal's against Debian's (one thread), both driven by memcaslap;
 * - shards: Shoal on 1 and on 2 worker shards, each driving its own queue of a
 *   multi-queue TAP, under 1-byte request/response on 16 connections and connections/s
 *   (the 2-shard rows give their ratio to one shard);
 * - memcached-shards: Shoal's memcached split over N worker shards against Debian's
 *   `memcached -t N`, both under `memcaslap -c 16 -T N`, N = 1 and 2.
 * Every address lives in namespaces this benchmark creates and deletes (also on
 * failure): the TAP's kernel side at 10.77.0.1/24 (Shoal is 10.77.0.2 in this process),
 * the veth pair at 10.78.0.1/24 and 10.78.0.2/24 in two more. Needs root and the native
 * addon; without them it says why and gives no rows (and the memcached row needs
 * memcached and memcaslap).
 *
 * `node dist/bench/tap.js [in|out|rr|conn|memcached]...` runs it (or some cases) on its own,
 * e.g. under `node --cpu-prof`; SHOAL_BENCH_SECONDS sets each case's time. Every case runs
 * once unmeasured first (SHOAL_BENCH_WARMUP seconds, on both sides of the comparison):
 * a JavaScript peer — Shoal, and the Node load scripts — is measured warm, not while its
 * code is still being compiled.
 */
import { closeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { launch } from '../src/shard/engine.js';
import type { Duplex } from 'node:stream';
import { Host } from '../src/api/host.js';
import { serveMemcached } from '../src/apps/memcached/index.js';
import { TapDevice } from '../src/link/tap/device.js';
import { tapUnavailable } from '../src/link/tap/native.js';
import { RealClock } from '../src/time/clock.js';
import { EventLoop } from '../src/time/loop.js';
import { printTable, type BenchRow } from './harness.js';
import { memcachedToolsMissing, memcaslap, startKernelMemcached } from './tap-memcached.js';
import { Namespaces } from './tap-netns.js';

const SECONDS = Number(process.env['SHOAL_BENCH_SECONDS'] ?? 3);
const WARMUP = Number(process.env['SHOAL_BENCH_WARMUP'] ?? 1);
/** Concurrent connect/request/close loops of the connections/s client. */
const CONN_LOOPS = 8;
const VETH_CLIENT = '10.78.0.1';
const VETH_SERVER = '10.78.0.2';
const TAP_KERNEL = '10.77.0.1';
const TAP_SHOAL = '10.77.0.2';
const MEMCACHED_PORT = 11211;

export const TAP_CASES = ['in', 'out', 'rr', 'conn', 'memcached', 'shards', 'memcached-shards'] as const;
/** Connections of the sharded request/response rows. */
const RR_CONNS = 16;
export type TapCase = (typeof TAP_CASES)[number];

/** The two ends under test: the veth pair's namespaces, and Shoal with its TAP's kernel side. */
interface World {
  n: Namespaces;
  /** The veth client's and server's namespaces. */
  v1: string;
  v2: string;
  /** The namespace of the TAP's kernel side. */
  k: string;
  h: Host;
}

async function listen(server: { listen(port: number, cb: () => void): unknown }, port: number): Promise<void> {
  await new Promise<void>((r) => server.listen(port, r));
}

/** The kernel's `send` to a kernel `sink` on `port`, for `seconds`: the sink's MB/s. */
async function kernelBulk(w: World, port: number, seconds: number): Promise<number> {
  const sink = w.n.load(w.v2, ['sink', String(port)], true);
  await sink.ready;
  await w.n.load(w.v1, ['send', VETH_SERVER, String(port), String(seconds)]).exited;
  return Namespaces.result(await sink.exited)['mbps']!;
}

async function bulkIn(w: World): Promise<[shoal: number, veth: number]> {
  await kernelBulk(w, 5301, WARMUP);
  const veth = await kernelBulk(w, 5301, SECONDS);
  // Each connection counts its own bytes; the last one (after the warm-up) is measured.
  let bytes = 0;
  let t0 = 0;
  let t1 = 0;
  const server = w.h.net.createServer((s) => {
    bytes = t0 = t1 = 0;
    s.on('data', (d: Buffer) => {
      if (t0 === 0) t0 = performance.now();
      bytes += d.length;
      t1 = performance.now();
    });
    s.on('error', () => {});
  });
  await listen(server, 5302);
  for (const seconds of [WARMUP, SECONDS]) await w.n.load(w.k, ['send', TAP_SHOAL, '5302', String(seconds)]).exited;
  server.close();
  return [bytes / 1e6 / ((t1 - t0) / 1000), veth];
}

/** Shoal sends to the kernel's sink on `port` for `seconds`: the sink's MB/s. */
async function shoalBulk(w: World, port: number, seconds: number): Promise<number> {
  const sink = w.n.load(w.k, ['sink', String(port)], true);
  await sink.ready;
  const chunk = new Uint8Array(65536).fill(0x5a);
  await new Promise<void>((resolve, reject) => {
    const s: Duplex = w.h.net.connect(port, TAP_KERNEL, () => {
      const end = performance.now() + seconds * 1000;
      const pump = (): void => {
        while (performance.now() < end) if (!s.write(chunk)) return void s.once('drain', pump);
        s.end();
      };
      pump();
    });
    s.on('close', () => resolve());
    s.on('error', reject);
  });
  return Namespaces.result(await sink.exited)['mbps']!;
}

/** Shoal sends; the kernel's sink measures. */
async function bulkOut(w: World): Promise<[shoal: number, veth: number]> {
  await kernelBulk(w, 5306, WARMUP);
  const veth = await kernelBulk(w, 5306, SECONDS);
  await shoalBulk(w, 5303, WARMUP);
  return [await shoalBulk(w, 5303, SECONDS), veth];
}

/** A Shoal echo server for `port` (ends each connection when the client ends), until `close()`. */
async function shoalEcho(w: World, port: number): Promise<{ close(): void }> {
  const server = w.h.net.createServer({ noDelay: true }, (s) => {
    s.on('data', (d: Buffer) => s.write(d));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  await listen(server, port);
  return server;
}

/**
 * 1-byte request/response, and connections/s: the kernel's client (`client(host, port,
 * seconds)`) against an echo server, once to warm up and once measured.
 */
async function echoCase(w: World, port: number, client: (host: string, port: string, seconds: number) => string[]): Promise<[shoal: Record<string, number>, veth: Record<string, number>]> {
  const vethServer = w.n.load(w.v2, ['echos', String(port)], true);
  await vethServer.ready;
  await w.n.load(w.v1, client(VETH_SERVER, String(port), WARMUP)).exited;
  const veth = Namespaces.result(await w.n.load(w.v1, client(VETH_SERVER, String(port), SECONDS)).exited);
  await w.n.kill(vethServer);
  const server = await shoalEcho(w, port);
  await w.n.load(w.k, client(TAP_SHOAL, String(port), WARMUP)).exited;
  const shoal = Namespaces.result(await w.n.load(w.k, client(TAP_SHOAL, String(port), SECONDS)).exited);
  server.close();
  return [shoal, veth];
}

async function memcached(w: World): Promise<[shoal: number, kernel: number]> {
  const debian = await startKernelMemcached(w.n, w.v2, VETH_SERVER, MEMCACHED_PORT);
  await memcaslap(w.n, w.v1, VETH_SERVER, MEMCACHED_PORT, WARMUP);
  const kernel = await memcaslap(w.n, w.v1, VETH_SERVER, MEMCACHED_PORT, SECONDS);
  await w.n.kill(debian);
  const server = w.h.net.createServer();
  serveMemcached(server);
  await listen(server, MEMCACHED_PORT);
  await memcaslap(w.n, w.k, TAP_SHOAL, MEMCACHED_PORT, WARMUP);
  const shoal = await memcaslap(w.n, w.k, TAP_SHOAL, MEMCACHED_PORT, SECONDS);
  server.close();
  return [shoal, kernel];
}

/**
 * Shoal on N worker shards, each driving its own queue of a multi-queue TAP whose kernel
 * side is in namespace `ns` (made for this N), against the kernel's client: `client`'s
 * result, warm-up first.
 */
let shardedRuns = 0;

async function shardedEcho(n: Namespaces, shards: number, port: number, client: (host: string, port: string, seconds: number) => string[]): Promise<Record<string, number>> {
  return withShards(n, shards, port, 'echo', async (ns) => {
    await n.load(ns, client(TAP_SHOAL, String(port), WARMUP)).exited;
    return Namespaces.result(await n.load(ns, client(TAP_SHOAL, String(port), SECONDS)).exited);
  });
}

/** Shoal's memcached on N worker shards (each its own TAP queue) under memcaslap -T N; ops/s. */
async function shardedMemcached(n: Namespaces, shards: number): Promise<number> {
  return withShards(n, shards, MEMCACHED_PORT, 'memcached', async (ns) => {
    await memcaslap(n, ns, TAP_SHOAL, MEMCACHED_PORT, WARMUP, shards);
    return memcaslap(n, ns, TAP_SHOAL, MEMCACHED_PORT, SECONDS, shards);
  });
}

/** Runs `fn` (given the namespace of the TAP's kernel side) while Shoal serves `app` on `shards` worker shards. */
async function withShards<T>(n: Namespaces, shards: number, port: number, app: 'echo' | 'memcached', fn: (ns: string) => Promise<T>): Promise<T> {
  const run = shardedRuns++;
  const ns = await n.add(`s${run}`);
  const name = `shbs${run}${n.tag}`;
  const queues = TapDevice.openQueues({ name, queues: shards });
  try {
    await n.moveTap(name, ns, `${TAP_KERNEL}/24`);
  } catch (e) {
    for (const fd of queues.fds) closeSync(fd);
    throw e;
  }
  const engine = await launch(new URL('./tap-shard-app.js', import.meta.url), {
    shards,
    data: { port, app },
    rpcBytes: app === 'memcached' ? 4 << 20 : 0,
    network: { hosts: [{ name: 'shoal', address: `${TAP_SHOAL}/24`, tap: { queues } }] },
  });
  try {
    return await fn(ns);
  } finally {
    await engine.stop();
  }
}

function warnFailures(what: string, r: Record<string, number>): void {
  if ((r['failed'] ?? 0) > 0) console.log(`tap benchmark: ${r['failed']} connections failed (${what})`);
}

export async function tapBenchmarks(cases: ReadonlySet<TapCase> = new Set(TAP_CASES)): Promise<BenchRow[]> {
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
    await n.veth(v1, VETH_CLIENT, v2, VETH_SERVER);
    // Shoal: a TAP whose kernel side is in its own namespace.
    const k = await n.add('k');
    const tapName = `shbt${n.tag}`;
    tap = TapDevice.open({ name: tapName });
    await n.moveTap(tapName, k, `${TAP_KERNEL}/24`);
    loop = new EventLoop(new RealClock());
    tap.attach(loop);
    host = new Host({ device: tap, address: `${TAP_SHOAL}/24`, loop });
    loop.start();
    const w: World = { n, v1, v2, k, h: host };

    const group = 'tap (Linux kernel on the other end)';
    const ref = 'kernel ↔ kernel, veth';
    const gbit = (mbps: number): number => (mbps * 8) / 1000;
    const rows: BenchRow[] = [];
    if (cases.has('in')) {
      const [shoal, veth] = await bulkIn(w);
      rows.push({ group, name: 'bulk, kernel → Shoal, 1 conn', value: gbit(shoal), unit: 'Gbit/s', reference: { name: ref, value: gbit(veth) } });
    }
    if (cases.has('out')) {
      // veth is symmetric: its kernel → kernel figure is the reference both ways.
      const [shoal, veth] = await bulkOut(w);
      rows.push({ group, name: 'bulk, Shoal → kernel, 1 conn', value: gbit(shoal), unit: 'Gbit/s', reference: { name: ref, value: gbit(veth) } });
    }
    if (cases.has('rr')) {
      const [shoal, veth] = await echoCase(w, 5304, (h, p, t) => ['rr', h, p, String(t)]);
      rows.push({ group, name: '1-byte request/response, kernel client, 1 conn', value: shoal['rate']!, unit: 'trip/s', reference: { name: ref, value: veth['rate']! } });
    }
    if (cases.has('conn')) {
      const [shoal, veth] = await echoCase(w, 5305, (h, p, t) => ['conn', h, p, String(t), String(CONN_LOOPS)]);
      warnFailures('kernel ↔ kernel', veth);
      warnFailures('kernel → Shoal', shoal);
      rows.push({ group, name: `connect + 32 B echo + close, kernel client, ${CONN_LOOPS} loops`, value: shoal['rate']!, unit: 'conn/s', reference: { name: ref, value: veth['rate']! } });
    }
    if (cases.has('shards')) {
      const sgroup = 'tap, shards in workers (kernel client)';
      for (const [name, unit, client] of [
        [`1-byte request/response, ${RR_CONNS} conns`, 'trip/s', (h: string, p: string, t: number) => ['rrn', h, p, String(t), String(RR_CONNS)]],
        [`connect + 32 B echo + close, ${CONN_LOOPS} loops`, 'conn/s', (h: string, p: string, t: number) => ['conn', h, p, String(t), String(CONN_LOOPS)]],
      ] as const) {
        const one = await shardedEcho(n, 1, 5306, client);
        const two = await shardedEcho(n, 2, 5306, client);
        warnFailures('kernel → Shoal, 1 shard', one);
        warnFailures('kernel → Shoal, 2 shards', two);
        rows.push({ group: sgroup, name: `${name}, 1 shard`, value: one['rate']!, unit });
        rows.push({ group: sgroup, name: `${name}, 2 shards`, value: two['rate']!, unit, reference: { name: '1 shard', value: one['rate']! } });
      }
    }
    if (cases.has('memcached-shards')) {
      const missing = memcachedToolsMissing();
      if (missing !== null) console.log(`tap benchmark: sharded memcached rows skipped: ${missing}`);
      else {
        const sgroup = 'tap, shards in workers (kernel client)';
        for (const shards of [1, 2]) {
          const debian = await startKernelMemcached(n, v2, VETH_SERVER, MEMCACHED_PORT, shards);
          await memcaslap(n, v1, VETH_SERVER, MEMCACHED_PORT, WARMUP, shards);
          const kernel = await memcaslap(n, v1, VETH_SERVER, MEMCACHED_PORT, SECONDS, shards);
          await n.kill(debian);
          const shoal = await shardedMemcached(n, shards);
          rows.push({ group: sgroup, name: `memcached on ${shards} shard${shards > 1 ? 's' : ''}, memcaslap -c 16 -T ${shards}`, value: shoal, unit: 'op/s', reference: { name: `memcached -t ${shards}, veth`, value: kernel } });
        }
      }
    }
    if (cases.has('memcached')) {
      const missing = memcachedToolsMissing();
      if (missing !== null) console.log(`tap benchmark: memcached row skipped: ${missing}`);
      else {
        const [shoal, debian] = await memcached(w);
        rows.push({ group, name: 'memcached, memcaslap -c 16 -T 1, 90% get', value: shoal, unit: 'op/s', reference: { name: 'memcached -t 1, veth', value: debian } });
      }
    }
    return rows;
  } finally {
    host?.close();
    loop?.stop();
    tap?.close();
    await n.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const asked = process.argv.slice(2);
  for (const c of asked) if (!(TAP_CASES as readonly string[]).includes(c)) throw new Error(`unknown case ${c}: one of ${TAP_CASES.join(', ')}`);
  printTable(await tapBenchmarks(new Set((asked.length > 0 ? asked : TAP_CASES) as TapCase[])));
  process.exit(0);
}
