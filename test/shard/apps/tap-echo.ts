/**
 * A test application for tap-shards.test.ts: the host `shoal` on a multi-queue TAP, one
 * queue per shard. Every shard serves echo on port 7 (counting what it accepts) and,
 * once all listen, opens `connections` connections to the kernel's echo server, each
 * checked by SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Shard } from '../../../src/shard/shard.js';

export interface TapEchoData {
  /** Int32: [listening, finished, then per shard: accepted, intact outgoing]. */
  results: SharedArrayBuffer;
  connections: number;
  bytes: number;
  kernel: string;
}

export default async function tapEcho(shard: Shard): Promise<void> {
  const data = shard.data as TapEchoData;
  const r = new Int32Array(data.results);
  const server = shard.net.createServer((s) => {
    Atomics.add(r, 2 + 2 * shard.id, 1);
    s.pipe(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(7, resolve));
  shard.atExit(() => new Promise<void>((resolve) => server.close(() => resolve())));
  Atomics.add(r, 0, 1);
  void (async () => {
    while (Atomics.load(r, 0) < shard.count) await new Promise((res) => setTimeout(res, 5));
    const one = (): Promise<boolean> =>
      new Promise((resolve) => {
        const out = randomBytes(data.bytes);
        const want = createHash('sha256').update(out).digest('hex');
        const got = createHash('sha256');
        let n = 0;
        const c = shard.net.connect({ host: data.kernel, port: 7 }, () => c.end(out));
        c.on('data', (d: Buffer) => {
          n += d.length;
          got.update(d);
        });
        c.on('error', () => resolve(false));
        c.on('close', () => resolve(n === out.length && got.digest('hex') === want));
      });
    const ok = await Promise.all(Array.from({ length: data.connections }, one));
    Atomics.add(r, 3 + 2 * shard.id, ok.filter(Boolean).length);
    Atomics.add(r, 1, 1);
  })();
}
