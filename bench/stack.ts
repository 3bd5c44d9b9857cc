/**
 * TCP through two Shoal stacks in this process (issue 4), against node:net over the
 * kernel's loopback (127.0.0.1, server and client in this process too), on the same
 * workloads:
 *
 * - bulk: one connection, one way, 64 KiB application writes, for SHOAL_BENCH_SECONDS
 *   (default 3) after a 64 MB warm-up; the Shoal receiver reads with readInto() into
 *   one reused buffer, node:net counts 'data' events;
 * - request/response: one connection, noDelay on both ends, 32 bytes each way, one
 *   request in flight;
 * - connections: connect, 32-byte request, 32-byte response, the client closes, the
 *   server closes on end; the next connection starts when the client's is closed;
 * - memory: RSS before, at the peak of, and after a long Shoal transfer
 *   (SHOAL_BENCH_GB, default 10), in a fresh child process so that what other
 *   benchmarks left on the heap does not count.
 *
 * The Shoal stacks sit on a MemoryWire with the MemoryDevice defaults (checksum
 * offload, TSO and LRO emulated, as a NIC would) and are driven by an EventLoop on a
 * VirtualClock as fast as the CPU allows (runOnce; the clock jumps to the next timer
 * only when nothing is left to do); what is measured is wall time (performance.now()).
 *
 * `node dist/bench/stack.js [bulk|rr|conn|rss|net|all]` runs the cases on their own (e.g.
 * under `node --cpu-prof`); SHOAL_BENCH_SECONDS sets how long each timed case runs,
 * SHOAL_BENCH_CONN_VMS the virtual ms per connection (default 5; 61000 = no TIME_WAIT backlog).
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { MemoryDevice, MemoryWire } from '../src/link/memory/index.js';
import { EventLoop } from '../src/time/loop.js';
import { VirtualClock } from '../src/time/clock.js';
import { Stack } from '../src/stack/stack.js';
import { parseIpv4 } from '../src/wire/addr.js';
import type { TcpConnection } from '../src/stack/tcp/index.js';
import { printTable, type BenchRow } from './harness.js';

const IP_B = parseIpv4('10.0.0.2');
const PORT = 5001;
const CHUNK = 64 * 1024;
const MB = 1e6;
const SECONDS = Number(process.env['SHOAL_BENCH_SECONDS'] ?? 3);
const RSS_GB = Number(process.env['SHOAL_BENCH_GB'] ?? 10);
/** Virtual time per completed connection in the connection benchmark (see connShoal). */
const CONN_VIRTUAL_MS = Number(process.env['SHOAL_BENCH_CONN_VMS'] ?? 5);

// ================================================================ Shoal harness

interface Pair {
  clock: VirtualClock;
  loop: EventLoop;
  a: Stack;
  b: Stack;
}

/** Stacks A (10.0.0.1/24) and B (10.0.0.2/24) on a memory wire, MemoryDevice defaults (offloads on). */
function makePair(): Pair {
  const clock = new VirtualClock();
  const loop = new EventLoop(clock);
  const devA = new MemoryDevice({ name: 'a', mac: 0x02_00_00_00_00_01 });
  const devB = new MemoryDevice({ name: 'b', mac: 0x02_00_00_00_00_02 });
  const wire = new MemoryWire(devA, devB, { seed: 1 });
  const a = new Stack({ device: devA, address: '10.0.0.1/24', clock, timers: loop.timers, seed: 3 });
  const b = new Stack({ device: devB, address: '10.0.0.2/24', clock, timers: loop.timers, seed: 4 });
  for (const p of wire.pollables()) loop.add(p);
  return { clock, loop, a, b };
}

/**
 * Runs loop passes as fast as possible until `done()` or `wallMs` of wall time; when a
 * pass finds nothing to do, virtual time jumps to the next timer. `tick` runs about
 * every 64 passes (for sampling). Returns false when nothing is left to happen.
 */
function drive(p: Pair, done: () => boolean, wallMs: number, tick?: () => void): boolean {
  const { loop, clock } = p;
  const deadline = performance.now() + wallMs;
  for (;;) {
    for (let i = 0; i < 64; i++) {
      if (done()) return true;
      if (loop.runOnce() === 0) {
        const next = loop.nextEventAt();
        if (next === Infinity) return done();
        if (next > clock.now()) clock.advanceTo(next);
      }
    }
    tick?.();
    if (performance.now() >= deadline) return done();
  }
}

/** Tears the pair down (abort every connection, run what is left for a moment of virtual time). */
function closePair(p: Pair, conns: (TcpConnection | null)[]): void {
  for (const c of conns) c?.abort();
  p.loop.runUntil({ until: p.clock.now() + 1000, maxPasses: 100_000 });
  p.a.close();
  p.b.close();
}

/** One connection A → B, established. */
function connectPair(p: Pair, noDelay: boolean): { client: TcpConnection; server: () => TcpConnection | null } {
  let server: TcpConnection | null = null;
  const l = p.b.tcp.listen(PORT);
  l.onConnection((s) => {
    server = s;
    if (noDelay) s.setNoDelay(true);
  });
  const client = p.a.tcp.connect({ dst: IP_B, dstPort: PORT });
  if (noDelay) client.setNoDelay(true);
  let up = false;
  client.onConnect = () => {
    up = true;
  };
  if (!drive(p, () => up && server !== null, 5000)) throw new Error('shoal: connection not established');
  return { client, server: () => server };
}

export interface BulkResult {
  bytes: number;
  ms: number;
  rssStart: number;
  rssPeak: number;
  rssEnd: number;
}

/**
 * One-way bulk A → B: `bytes` after a warm-up of 64 MB, or until `wallMs` has passed.
 * RSS is sampled about every 50 ms.
 */
export function bulkShoal(bytes: number, wallMs: number): BulkResult {
  const p = makePair();
  const { client, server } = connectPair(p, false);
  const s = server()!;
  const rbuf = new Uint8Array(CHUNK);
  const src = new Uint8Array(CHUNK).fill(0x5a);
  let received = 0;
  let limit = 64 * MB;
  s.onReadable = () => {
    let n: number;
    while ((n = s.readInto(rbuf)) > 0) received += n;
  };
  let sent = 0;
  const pump = (): void => {
    while (sent < limit) {
      const want = limit - sent < CHUNK ? limit - sent : CHUNK;
      const n = client.write(src, 0, want);
      if (n === 0) return;
      sent += n;
    }
  };
  client.onWritable = pump;
  pump();
  if (!drive(p, () => received >= limit, 10_000)) throw new Error(`shoal bulk: warm-up stalled at ${received} bytes`);
  const r0 = received;
  limit = r0 + bytes;
  pump();
  const mem = process.memoryUsage;
  const rssStart = mem.rss();
  let rssPeak = rssStart;
  let lastSample = performance.now();
  const sample = (): void => {
    const now = performance.now();
    if (now - lastSample < 50) return;
    lastSample = now;
    const r = mem.rss();
    if (r > rssPeak) rssPeak = r;
  };
  const t0 = performance.now();
  drive(p, () => received >= limit, wallMs, sample);
  const ms = performance.now() - t0;
  const rssEnd = mem.rss();
  if (rssEnd > rssPeak) rssPeak = rssEnd;
  closePair(p, [client, s]);
  return { bytes: received - r0, ms, rssStart, rssPeak, rssEnd };
}

/** 32-byte request / 32-byte response round trips per second on one connection (noDelay). */
export function rrShoal(wallMs: number): number {
  const p = makePair();
  const { client, server } = connectPair(p, true);
  const s = server()!;
  const req = new Uint8Array(32).fill(1);
  const sbuf = new Uint8Array(4096);
  const cbuf = new Uint8Array(4096);
  let have = 0;
  let trips = 0;
  s.onReadable = () => {
    let n: number;
    while ((n = s.readInto(sbuf)) > 0) s.write(sbuf, 0, n); // echo
  };
  client.onReadable = () => {
    let n: number;
    while ((n = client.readInto(cbuf)) > 0) have += n;
    while (have >= 32) {
      have -= 32;
      trips++;
      client.write(req);
    }
  };
  client.write(req);
  drive(p, () => false, wallMs / 8);
  const t0 = performance.now();
  const n0 = trips;
  drive(p, () => false, wallMs);
  const rate = (trips - n0) / ((performance.now() - t0) / 1000);
  closePair(p, [client, s]);
  return rate;
}

/**
 * Connections per second: connect, 32-byte request, 32-byte response, the client closes
 * (and keeps TIME_WAIT), the server closes on end; the next starts from the client's
 * onClose. Virtual time moves CONN_VIRTUAL_MS per connection, so TIME_WAIT entries
 * (2·MSL = 60 s) expire as they would at ~200 connections per virtual second and the
 * ephemeral ports (28k) never run out; their expiry is part of the work measured.
 * The timing starts at the steady state (12,000 TIME_WAIT entries on the client).
 */
export function connShoal(wallMs: number): { rate: number; timeWait: number } {
  const p = makePair();
  const l = p.b.tcp.listen(PORT, { backlog: 1024 });
  const req = new Uint8Array(32).fill(1);
  const resp = new Uint8Array(32).fill(2);
  const sbuf = new Uint8Array(4096);
  const cbuf = new Uint8Array(4096);
  l.onConnection((s) => {
    s.setNoDelay(true);
    let got = 0;
    s.onReadable = () => {
      let n: number;
      while ((n = s.readInto(sbuf)) > 0) got += n;
      while (got >= 32) {
        got -= 32;
        s.write(resp);
      }
    };
    s.onEnd = () => s.close();
  });
  let completed = 0;
  let failed = 0;
  let stop = false;
  let current: TcpConnection | null = null;
  const one = (): void => {
    const c = p.a.tcp.connect({ dst: IP_B, dstPort: PORT });
    current = c;
    c.setNoDelay(true);
    let got = 0;
    c.onConnect = () => {
      c.write(req);
    };
    c.onReadable = () => {
      let n: number;
      while ((n = c.readInto(cbuf)) > 0) got += n;
      if (got >= 32) c.close();
    };
    c.onClose = (err) => {
      if (err) failed++;
      else completed++;
      p.clock.advanceBy(CONN_VIRTUAL_MS);
      if (!stop) one();
      else current = null;
    };
  };
  one();
  // Warm up to the steady state: as many TIME_WAIT entries as there will be from now on.
  const steady = Math.ceil((2 * 30_000) / CONN_VIRTUAL_MS);
  drive(p, () => completed >= steady, 15_000);
  const n0 = completed;
  const t0 = performance.now();
  drive(p, () => false, wallMs);
  const rate = (completed - n0) / ((performance.now() - t0) / 1000);
  const timeWait = p.a.tcp.counters.states.TIME_WAIT;
  stop = true;
  if (failed > 0) throw new Error(`shoal conn: ${failed} connections failed`);
  closePair(p, [current]);
  l.close();
  return { rate, timeWait };
}

// ================================================================ node:net

function listenNet(onSocket: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer(onSocket);
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      if (a === null || typeof a === 'string') return reject(new Error('no port'));
      resolve({ server, port: a.port });
    });
  });
}

function closeNet(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** node:net bulk over 127.0.0.1: 64 KiB writes with back pressure ('drain'), the server counts 'data'. */
export async function bulkNet(bytes: number, wallMs: number): Promise<{ bytes: number; ms: number }> {
  let received = 0;
  let onData: () => void = () => {};
  const { server, port } = await listenNet((s) => {
    s.on('data', (d: Buffer) => {
      received += d.length;
      onData();
    });
  });
  const chunk = Buffer.alloc(CHUNK, 0x5a);
  const client = netConnect({ port, host: '127.0.0.1' });
  await new Promise<void>((r) => client.once('connect', r));
  let limit = 0;
  let sent = 0;
  const pump = (): void => {
    while (sent < limit) {
      sent += CHUNK;
      if (!client.write(chunk)) return;
    }
  };
  client.on('drain', pump);
  const phase = (target: number, ms: number): Promise<void> =>
    new Promise((resolve) => {
      const deadline = performance.now() + ms;
      onData = () => {
        if (received >= target || performance.now() >= deadline) {
          onData = () => {};
          resolve();
        }
      };
      limit = target;
      pump();
    });
  await phase(64 * MB, 10_000);
  const r0 = received;
  const t0 = performance.now();
  await phase(r0 + bytes, wallMs);
  const ms = performance.now() - t0;
  const got = received - r0;
  client.destroy();
  await closeNet(server);
  return { bytes: got, ms };
}

/** node:net: 32-byte request/response round trips per second on one connection (noDelay both ends). */
export async function rrNet(wallMs: number): Promise<number> {
  const { server, port } = await listenNet((s) => {
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => s.write(d)); // echo
  });
  const client = netConnect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((r) => client.once('connect', r));
  const req = Buffer.alloc(32, 1);
  let have = 0;
  let trips = 0;
  let deadline = performance.now() + wallMs / 8;
  let finish: () => void = () => {};
  client.on('data', (d: Buffer) => {
    have += d.length;
    while (have >= 32) {
      have -= 32;
      trips++;
      if (performance.now() >= deadline) return finish();
      client.write(req);
    }
  });
  await new Promise<void>((r) => {
    finish = r;
    client.write(req);
  });
  const n0 = trips;
  const t0 = performance.now();
  deadline = t0 + wallMs;
  await new Promise<void>((r) => {
    finish = r;
    client.write(req);
  });
  const rate = (trips - n0) / ((performance.now() - t0) / 1000);
  client.destroy();
  await closeNet(server);
  return rate;
}

/** node:net: connect, 32-byte request, 32-byte response, client end(), server ends on 'end'; one at a time. */
export async function connNet(wallMs: number): Promise<number> {
  const resp = Buffer.alloc(32, 2);
  const req = Buffer.alloc(32, 1);
  const { server, port } = await listenNet((s) => {
    s.setNoDelay(true);
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      while (got >= 32) {
        got -= 32;
        s.write(resp);
      }
    });
    s.on('error', () => {});
  });
  let completed = 0;
  let failed = 0;
  const phase = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const deadline = performance.now() + ms;
      const one = (): void => {
        const c = netConnect({ port, host: '127.0.0.1', noDelay: true });
        let got = 0;
        c.on('connect', () => c.write(req));
        c.on('data', (d: Buffer) => {
          got += d.length;
          if (got >= 32) c.end();
        });
        c.on('error', () => failed++);
        c.on('close', () => {
          completed++;
          if (performance.now() < deadline) one();
          else resolve();
        });
      };
      one();
    });
  await phase(wallMs / 8);
  const n0 = completed;
  const t0 = performance.now();
  await phase(wallMs);
  const rate = (completed - n0) / ((performance.now() - t0) / 1000);
  await closeNet(server);
  if (failed > 0) throw new Error(`node:net conn: ${failed} connections failed`);
  return rate;
}

// ================================================================ rows

const GROUP = 'tcp (2 stacks, memory link)';
const REF = 'node:net 127.0.0.1';

export async function stackBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const ms = SECONDS * 1000;

  const sb = bulkShoal(Infinity, ms);
  const nb = await bulkNet(Infinity, ms);
  rows.push({
    group: GROUP,
    name: `bulk, 1 conn, one way, ${SECONDS} s`,
    value: sb.bytes / MB / (sb.ms / 1000),
    unit: 'MB/s',
    reference: { name: REF, value: nb.bytes / MB / (nb.ms / 1000) },
  });

  const srr = rrShoal(ms);
  const nrr = await rrNet(ms);
  rows.push({ group: GROUP, name: '32 B request/response, 1 conn, noDelay', value: srr, unit: 'trip/s', reference: { name: REF, value: nrr } });

  const sc = connShoal(ms);
  const nc = await connNet(ms);
  rows.push({ group: GROUP, name: 'connect + 32 B req/resp + close, sequential', value: sc.rate, unit: 'conn/s', reference: { name: REF, value: nc } });

  const r = rssInChild();
  const gb = (r.bytes / 1e9).toFixed(1);
  rows.push({ group: GROUP, name: `bulk ${gb} GB (memory run)`, value: r.bytes / MB / (r.ms / 1000), unit: 'MB/s' });
  rows.push({ group: GROUP, name: `RSS before ${gb} GB`, value: r.rssStart / MB, unit: 'MB' });
  rows.push({ group: GROUP, name: `RSS peak during ${gb} GB`, value: r.rssPeak / MB, unit: 'MB' });
  rows.push({ group: GROUP, name: `RSS after ${gb} GB`, value: r.rssEnd / MB, unit: 'MB' });
  return rows;
}

/** The memory run in a fresh process (`stack.js rss-json`). */
function rssInChild(): BulkResult {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'rss-json'], { encoding: 'utf8', timeout: 900_000 });
  const line = child.stdout.split('\n').find((l) => l.startsWith('{'));
  if (child.status !== 0 || line === undefined) throw new Error(`memory run failed (status ${child.status}): ${child.stderr}`);
  return JSON.parse(line) as BulkResult;
}

// `node dist/bench/stack.js [case]`: one case on its own (for profiling), or all of them.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const which = process.argv[2] ?? 'all';
  const ms = SECONDS * 1000;
  const t0 = performance.now();
  if (which === 'rss-json') {
    console.log(JSON.stringify(bulkShoal(RSS_GB * 1e9, 600_000)));
    process.exit(0);
  } else if (which === 'bulk') {
    const r = bulkShoal(Infinity, ms);
    console.log(`shoal bulk: ${(r.bytes / MB / (r.ms / 1000)).toFixed(0)} MB/s (${(r.bytes / MB).toFixed(0)} MB in ${r.ms.toFixed(0)} ms)`);
  } else if (which === 'rr') {
    console.log(`shoal rr: ${rrShoal(ms).toFixed(0)} trip/s`);
  } else if (which === 'conn') {
    const r = connShoal(ms);
    console.log(`shoal conn: ${r.rate.toFixed(0)} conn/s (TIME_WAIT at the end: ${r.timeWait})`);
  } else if (which === 'rss') {
    const r = bulkShoal(RSS_GB * 1e9, 600_000);
    console.log(`shoal ${(r.bytes / 1e9).toFixed(1)} GB: ${(r.bytes / MB / (r.ms / 1000)).toFixed(0)} MB/s, RSS ${(r.rssStart / MB).toFixed(0)} → peak ${(r.rssPeak / MB).toFixed(0)} → ${(r.rssEnd / MB).toFixed(0)} MB`);
  } else if (which === 'net') {
    const b = await bulkNet(Infinity, ms);
    console.log(`node:net bulk ${(b.bytes / MB / (b.ms / 1000)).toFixed(0)} MB/s, rr ${(await rrNet(ms)).toFixed(0)}/s, conn ${(await connNet(ms)).toFixed(0)}/s`);
  } else {
    printTable(await stackBenchmarks());
  }
  console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
