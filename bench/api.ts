/**
 * The application APIs against each other (issue 5): the same 32-byte request/response
 * server written on the zero-copy completion API and on `stack.net` (node:net-compatible
 * streams), driven by the same client (the raw TcpConnection API), on a MemoryNetwork in
 * real time (the loop runs a pass per setImmediate, as an application would run it).
 * One and 32 connections, one request in flight on each, noDelay; echo, and a fixed
 * 16 KiB response (which the zero-copy server hands over without copying).
 *
 * `node dist/bench/api.js` runs it on its own.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { MemoryNetwork } from '../src/api/network.js';
import type { Host } from '../src/api/host.js';
import { printTable, type BenchRow } from './harness.js';

const SECONDS = Number(process.env['SHOAL_BENCH_SECONDS'] ?? 3);
const PORT = 7;

type ServerKind = 'zero-copy' | 'net';

/**
 * A server of the given kind on `host`: it answers each 32-byte request with the
 * request itself (`response` null: echo) or with `response`. Returns what stops it.
 */
function startServer(kind: ServerKind, host: Host, response: Uint8Array | null): () => void {
  if (kind === 'net') {
    const server = host.net.createServer({ noDelay: true }, (s) => {
      let have = 0;
      s.on('data', (d: Buffer) => {
        if (response === null) {
          s.write(d);
          return;
        }
        for (have += d.length; have >= 32; have -= 32) s.write(response);
      });
      s.on('error', () => {});
    });
    server.listen(PORT);
    return () => server.close();
  }
  const cq = host.completions();
  const listener = cq.listen(PORT);
  // An echo copies the small request back (write); a fixed response is handed over as
  // it is (send: no copy; it never changes, so the same buffer may be in flight many
  // times). The request's frame is released at once.
  cq.onReady = () => {
    for (let n = cq.poll(64); n > 0; n = cq.poll(64)) {
      for (let i = 0; i < n; i++) {
        const c = cq.completions[i]!;
        if (c.kind === 'accepted') {
          c.socket.setNoDelay(true);
          c.socket.userData = 0;
        } else if (c.kind === 'data') {
          const p = c.data!;
          if (response === null) {
            for (let f = 0; f < p.fragmentCount; f++) c.socket.write(p.bufs[f]!, p.offs[f]!, p.lens[f]!);
          } else {
            let have = (c.socket.userData as number) + p.length;
            for (; have >= 32; have -= 32) c.socket.send(response);
            c.socket.userData = have;
          }
          cq.release(p);
        }
      }
    }
  };
  return () => listener.close();
}

/** Round trips per second against a `kind` server over `conns` connections (one request in flight on each), for `wallMs`. */
export async function rrApi(kind: ServerKind, conns: number, wallMs: number, responseSize = 0): Promise<number> {
  const net = new MemoryNetwork();
  const server = net.addHost();
  const client = net.addHost();
  const stop = startServer(kind, server, responseSize > 0 ? new Uint8Array(responseSize).fill(0x61) : null);
  const expect = responseSize > 0 ? responseSize : 32;
  const req = new Uint8Array(32).fill(7);
  const buf = new Uint8Array(65536);
  let trips = 0;
  let counting = false;
  let stopping = false;
  let open = 0;
  let allDone: () => void = () => {};
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  for (let k = 0; k < conns; k++) {
    const c = client.stack.tcp.connect({ dst: server.stack.address, dstPort: PORT });
    c.setNoDelay(true);
    let have = 0;
    open++;
    c.onConnect = () => c.write(req);
    c.onReadable = () => {
      let n: number;
      while ((n = c.readInto(buf)) > 0) have += n;
      while (have >= expect) {
        have -= expect;
        if (counting) trips++;
        if (stopping) {
          c.abort();
          if (--open === 0) allDone();
          return;
        }
        c.write(req);
      }
    };
  }
  await new Promise((r) => setTimeout(r, wallMs / 8));
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, wallMs));
  const rate = trips / ((performance.now() - t0) / 1000);
  stopping = true;
  await finished;
  stop();
  net.close();
  return rate;
}

export async function apiBenchmarks(): Promise<BenchRow[]> {
  const ms = SECONDS * 1000;
  const rows: BenchRow[] = [];
  for (const [conns, size] of [[1, 0], [32, 0], [32, 16384]] as const) {
    const net = await rrApi('net', conns, ms, size);
    const zc = await rrApi('zero-copy', conns, ms, size);
    const what = size === 0 ? '32 B echo' : `32 B request → ${size / 1024} KiB response`;
    rows.push({
      group: 'api (memory network, real-time loop)',
      name: `${what}, ${conns} conn${conns > 1 ? 's' : ''}: zero-copy completions vs stack.net`,
      value: zc,
      unit: 'trip/s',
      reference: { name: 'stack.net streams', value: net },
    });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printTable(await apiBenchmarks());
}
