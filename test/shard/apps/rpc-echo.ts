/**
 * A test application for rpc.test.ts: every shard answers calls with the payload
 * reversed and its own id appended, and calls every other shard `calls` times with
 * seeded payloads of 0 to `maxBytes` bytes (big ones wrap the byte rings and fill them),
 * checking each reply and that replies from one shard come in the order of the calls.
 * Per shard it records [intact, out of order, waited, refused, errors] in `results`.
 */
import type { Shard } from '../../../src/shard/shard.js';
import { Random } from '../../../src/util/random.js';

export interface RpcEchoData {
  results: SharedArrayBuffer;
  calls: number;
  maxBytes: number;
  seed: number;
}

export const WORDS = 5;

export default function rpcEcho(shard: Shard): void {
  const data = shard.data as RpcEchoData;
  const r = new Int32Array(data.results);
  const rpc = shard.rpc!;
  rpc.onCall = (_from, payload, reply) => {
    const out = new Uint8Array(payload.length + 1);
    for (let i = 0; i < payload.length; i++) out[i] = payload[payload.length - 1 - i]!;
    out[payload.length] = shard.id;
    reply(out);
  };
  const rng = new Random(data.seed + shard.id);
  let left = data.calls * (shard.count - 1);
  const base = 1 + shard.id * WORDS;
  const finish = (): void => {
    Atomics.store(r, base + 2, rpc.counters.waited);
    Atomics.store(r, base + 3, rpc.counters.refused);
    Atomics.store(r, base + 4, rpc.counters.errors);
    Atomics.add(r, 0, 1);
  };
  for (let to = 0; to < shard.count; to++) {
    if (to === shard.id) continue;
    let expected = 0;
    for (let k = 0; k < data.calls; k++) {
      const n = rng.int(4) === 0 ? data.maxBytes - rng.int(64) : rng.int(200);
      const payload = new Uint8Array(Math.max(0, n));
      for (let i = 0; i < payload.length; i++) payload[i] = rng.int(256);
      const seq = k;
      const sent = rpc.call(to, payload, (reply) => {
        let ok = reply.length === payload.length + 1 && reply[payload.length] === to;
        for (let i = 0; ok && i < payload.length; i++) ok = reply[i] === payload[payload.length - 1 - i];
        if (ok) Atomics.add(r, base, 1);
        if (seq !== expected++) Atomics.add(r, base + 1, 1);
        if (--left === 0) finish();
      });
      if (!sent) throw new Error('the backlog refused a call');
    }
  }
  if (left === 0) finish();
}
