/**
 * Calls with byte payloads between shards in workers (src/shard/rpc.ts, byte-ring.ts):
 * every reply intact and in order, through byte rings small enough that payloads wrap
 * around them and wait for room.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../../src/shard/engine.js';
import { ByteRingReader, ByteRingWriter, byteRingMemory } from '../../src/shard/byte-ring.js';
import { WORDS, type RpcEchoData } from './apps/rpc-echo.js';

const SEED = Number(process.env['SHOAL_SEED'] ?? Date.now() % 2 ** 31);

test('byte ring: payloads in order, one that does not fit before the end starts again at 0, a full ring refuses, freed space is used again', () => {
  const mem = byteRingMemory(64);
  const w = new ByteRingWriter(mem);
  const rd = new ByteRingReader(mem);
  const put = (n: number, v: number): number => w.write(n, (dst, at) => dst.fill(v, at, at + n));
  const a = put(20, 1);
  const b = put(20, 2);
  assert.deepEqual([a, b], [0, 20]);
  assert.equal(put(30, 3), -1, 'only 24 bytes are left');
  assert.deepEqual([...rd.read(a, 20)], new Array(20).fill(1));
  // The 24 bytes at the end are too few for 30, and starting again at 0 needs b's 20 back too.
  assert.equal(put(30, 3), -1);
  assert.deepEqual([...rd.read(b, 20)], new Array(20).fill(2));
  const c = put(30, 3);
  assert.equal(c, 0, 'skipped the 24 bytes at the end');
  assert.deepEqual([...rd.read(c, 30)], new Array(30).fill(3));
  assert.throws(() => rd.read(5, 3), /not the next one/);
  assert.throws(() => put(33, 0), /more than this ring takes/);
});

for (const shards of [2, 4]) {
  test(`rpc: ${shards} shards in workers call each other 300 times each, payloads up to the rings' limit: every reply intact and in the order of the calls`, async () => {
    const results = new SharedArrayBuffer(4 * (1 + shards * WORDS));
    const data: RpcEchoData = { results, calls: 300, maxBytes: 8 * 1024, seed: SEED };
    const engine = await launch(new URL('./apps/rpc-echo.js', import.meta.url), { shards, data, rpcBytes: 32 * 1024 });
    try {
      const r = new Int32Array(results);
      const until = Date.now() + 30_000;
      while (Atomics.load(r, 0) < shards && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
      let waited = 0;
      for (let s = 0; s < shards; s++) {
        const base = 1 + s * WORDS;
        assert.equal(r[base], 300 * (shards - 1), `shard ${s}: every reply intact (seed ${SEED})`);
        assert.equal(r[base + 1], 0, `shard ${s}: replies in the order of the calls`);
        assert.equal(r[base + 3], 0, `shard ${s}: nothing refused`);
        assert.equal(r[base + 4], 0, `shard ${s}: no bad descriptor`);
        waited += r[base + 2]!;
      }
      assert.ok(waited > 0, 'some calls waited for room in a ring (the backlog was used)');
    } finally {
      await engine.stop();
    }
  });
}

test('rpc: a ring size that is not a power of two is a RangeError before any thread starts', async () => {
  await assert.rejects(launch(new URL('./apps/rpc-echo.js', import.meta.url), { shards: 2, rpcBytes: 1000 }), /power of two/);
});
