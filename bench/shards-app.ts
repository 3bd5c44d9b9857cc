/**
 * The application every shard runs in the shards benchmark (shards.ts): a server host
 * (echo on port 7, discard on port 9) and a client host, both with a stack on this shard.
 * Once every shard listens, the client runs one workload against the server for the
 * time it is given and counts what completed inside the common window:
 *
 * - conn: `conns` loops per shard of connect, 32-byte request, 32-byte answer and the
 *   server closes (TIME_WAIT stays with the server, as with HTTP/1.0: a client closing
 *   first would hold each port for 60 s, and one destination has 28,232 of them, half
 *   that per shard of 2); the next starts when the client's has closed;
 * - rr: `conns` connections per shard, noDelay, one 32-byte request in flight on each;
 * - bulk: one connection per shard, 64 KiB writes one way into the discard server.
 */
import { performance } from 'node:perf_hooks';
import type { Socket } from '../src/api/net/index.js';
import type { Shard } from '../src/shard/shard.js';

export type Workload = 'conn' | 'rr' | 'bulk';

export interface ShardsAppData {
  workload: Workload;
  /** Per shard: concurrent connection loops (conn) or connections (rr). */
  conns: number;
  warmupMs: number;
  /** Only shards below this run the client's workload (default all; a diagnosis: does one busy shard slow another?). */
  activeShards?: number;
  ms: number;
  serverAddress: string;
  /** Int32: [listening, finished, errors]; Float64 at byte 16: [window start]; Float64 from byte 32: per shard, what completed in the window. */
  results: SharedArrayBuffer;
}

export const LISTENING = 0;
export const FINISHED = 1;
export const ERRORS = 2;

export function resultsMemory(shards: number): SharedArrayBuffer {
  return new SharedArrayBuffer(32 + 8 * shards);
}

export function completedOf(results: SharedArrayBuffer, shard: number): number {
  return new Float64Array(results, 32)[shard]!;
}

const REQ = new Uint8Array(32).fill(1);
const CHUNK = new Uint8Array(64 * 1024).fill(0x5a);

export default async function shardsApp(shard: Shard): Promise<void> {
  const data = shard.data as ShardsAppData;
  const flags = new Int32Array(data.results, 0, 4);
  const epoch = new Float64Array(data.results, 16, 1);
  const done = new Float64Array(data.results, 32, shard.count);
  const server = shard.hosts.server!.net;
  const client = shard.hosts.client!.net;

  const echo = server.createServer({ noDelay: true }, (s) => {
    s.on('data', (d: Buffer) => s.write(d));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  const answer = server.createServer({ noDelay: true }, (s) => {
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 32) s.end(d.subarray(0, 32));
    });
    s.on('error', () => {});
  });
  // Bulk counts what the server received in the window (on whichever shard owns the flow).
  const discard = server.createServer((s) => {
    s.on('data', (d: Buffer) => {
      const t = performance.timeOrigin + performance.now();
      if (epoch[0]! > 0 && t >= epoch[0]! && t < epoch[0]! + data.ms) received += d.length;
    });
    s.on('error', () => {});
  });
  let received = 0;
  await new Promise<void>((r) => echo.listen(7, r));
  await new Promise<void>((r) => discard.listen(9, r));
  await new Promise<void>((r) => answer.listen(8, r));
  shard.atExit(async () => {
    await new Promise<void>((r) => answer.close(() => r()));
    await new Promise<void>((r) => echo.close(() => r()));
    await new Promise<void>((r) => discard.close(() => r()));
  });

  // The last shard to listen sets the window; every shard measures the same one.
  if (Atomics.add(flags, LISTENING, 1) === shard.count - 1) {
    epoch[0] = performance.timeOrigin + performance.now() + data.warmupMs;
    Atomics.notify(flags, LISTENING);
  }
  void run(shard, data, client, flags, epoch).then((completed) => {
    done[shard.id] = data.workload === 'bulk' ? received : completed;
    Atomics.add(flags, FINISHED, 1);
  });
}

/** Runs the client's workload; returns what completed in the window (bulk: counted by the server). */
async function run(shard: Shard, data: ShardsAppData, client: Shard['net'], flags: Int32Array, epoch: Float64Array): Promise<number> {
  while (Atomics.load(flags, LISTENING) < shard.count || epoch[0] === 0) await new Promise((r) => setTimeout(r, 1));
  const now = (): number => performance.timeOrigin + performance.now();
  const start = epoch[0]!;
  const end = start + data.ms;
  let completed = 0;
  const count = (n: number): void => {
    const t = now();
    if (t >= start && t < end) completed += n;
  };
  const failed = (): void => {
    Atomics.add(flags, ERRORS, 1);
  };
  const open = (port: number): Socket => client.connect({ host: data.serverAddress, port, noDelay: true });
  const loops: Promise<void>[] = [];
  if (shard.id >= (data.activeShards ?? shard.count)) {
    // idle client: the server side still answers flows steered here
  } else if (data.workload === 'conn') {
    for (let k = 0; k < data.conns; k++) {
      loops.push(
        (async () => {
          while (now() < end) {
            await new Promise<void>((resolve) => {
              const c = open(8);
              c.on('connect', () => c.write(REQ));
              c.on('data', () => {});
              c.on('end', () => c.end());
              c.on('error', failed);
              c.on('close', () => {
                count(1);
                resolve();
              });
            });
          }
        })(),
      );
    }
  } else if (data.workload === 'rr') {
    for (let k = 0; k < data.conns; k++) {
      loops.push(
        new Promise<void>((resolve) => {
          const c = open(7);
          let have = 0;
          c.on('connect', () => c.write(REQ));
          c.on('data', (d: Buffer) => {
            have += d.length;
            while (have >= 32) {
              have -= 32;
              count(1);
              if (now() >= end) {
                c.destroy();
                return;
              }
              c.write(REQ);
            }
          });
          c.on('error', failed);
          c.on('close', () => resolve());
        }),
      );
    }
  } else {
    loops.push(
      new Promise<void>((resolve) => {
        const c = open(9);
        const pump = (): void => {
          while (now() < end) {
            if (!c.write(CHUNK)) return;
          }
          c.destroy();
        };
        c.on('connect', pump);
        c.on('drain', pump);
        c.on('error', failed);
        c.on('close', () => resolve());
      }),
    );
  }
  await Promise.all(loops);
  // Bulk: what is still in flight at the end reaches the server after the window.
  if (data.workload === 'bulk') await new Promise((r) => setTimeout(r, 50));
  return completed;
}
