/**
 * Frames forwarded between shards (src/shard/forward.ts over mesh.ts): they arrive
 * intact and in order without a copy, every one goes back to the pool of the shard that
 * owns it, the frames one shard may hold of another's are bounded, and a packet that is
 * not one whole shared frame is copied once. In-thread for the scenarios, across a worker
 * for the real thing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { Packet } from '../../src/packet/packet.js';
import { FramePool } from '../../src/packet/pool.js';
import { FrameForwarder, sharedPoolsOf } from '../../src/shard/forward.js';
import { MeshEndpoint, meshMemory } from '../../src/shard/mesh.js';
import { Random } from '../../src/util/random.js';
import { fillFrame, frameIsIntact, frameLength } from './forward-pattern.js';

const SEED = Number(process.env['SHOAL_SEED'] ?? Date.now() % 2 ** 31);
const S = `(seed ${SEED}; rerun with SHOAL_SEED=${SEED})`;

interface Shard {
  pool: FramePool;
  fwd: FrameForwarder;
  got: Packet[];
}

/** `n` shards on this thread, each with a shared pool of `slots` frames. */
function shards(n: number, slots: number, maxInFlight = 64): Shard[] {
  const mem = meshMemory(n, 256);
  const pools = Array.from({ length: n }, () => new FramePool({ slots, shared: true }));
  const infos = pools.map((p) => sharedPoolsOf([p]));
  return pools.map((pool, i) => {
    const fwd = new FrameForwarder(new MeshEndpoint(mem, i), [pool], infos, mem.capacity, maxInFlight);
    const s: Shard = { pool, fwd, got: [] };
    fwd.onFrames = (burst, k) => {
      for (let j = 0; j < k; j++) s.got.push(burst[j]!);
    };
    return s;
  });
}

function frame(pool: FramePool, n: number): Packet {
  const p = Packet.alloc(pool)!;
  const len = frameLength(n);
  fillFrame(p.bufs[0]!, p.append(len), len, n);
  return p;
}

/** One round on every shard: publish, then read. */
function round(all: Shard[]): void {
  for (const s of all) s.fwd.flush();
  for (const s of all) s.fwd.receive();
}

test('forward: frames cross to the shard that owns their flow intact and without a copy; each returns to its own pool', () => {
  const all = shards(3, 512);
  const rnd = new Random(SEED);
  const expect: number[][] = [[], [], []];
  let n = 0;
  for (let r = 0; r < 50; r++) {
    for (let k = 0; k < 20; k++) {
      const from = rnd.int(3);
      const to = (from + 1 + rnd.int(2)) % 3;
      const p = frame(all[from]!.pool, n);
      assert.ok(all[from]!.fwd.forward(p, to), S);
      assert.ok(p.isReleased, 'the sender holds nothing of it after');
      expect[to]!.push(n++);
    }
    round(all);
    // Receivers keep some for a while (an application reading slowly), release the rest.
    for (const s of all) {
      const keep = rnd.int(4);
      while (s.got.length > keep) s.got.shift()!.release();
    }
  }
  for (const s of all) s.got.forEach((p) => p.release());
  round(all);
  round(all);
  const c = all.map((s) => s.fwd.counters);
  assert.equal(c.reduce((a, x) => a + x.forwarded, 0), n);
  assert.equal(c.reduce((a, x) => a + x.received, 0), n);
  assert.equal(c.reduce((a, x) => a + x.freed, 0), n, 'every frame given back');
  assert.equal(c.reduce((a, x) => a + x.copied, 0), 0, 'no copies: whole shared frames move as they are');
  for (const s of all) {
    assert.equal(s.pool.inUse, 0, `pool balanced ${S}`);
    assert.equal(s.pool.counters().doubleReleases, 0);
    assert.deepEqual(Array.from(s.fwd.inFlight), [0, 0, 0]);
  }
});

test('forward: what arrives is in order per sender, byte for byte', () => {
  const all = shards(2, 256);
  let ok = 0;
  all[1]!.fwd.onFrames = (burst, k) => {
    for (let j = 0; j < k; j++) {
      assert.ok(frameIsIntact(burst[j]!, ok), `frame ${ok}`);
      ok++;
      burst[j]!.release();
    }
  };
  for (let n = 0; n < 1000; n++) {
    assert.ok(all[0]!.fwd.forward(frame(all[0]!.pool, n), 1));
    if (n % 50 === 49) {
      round(all);
      round(all); // the FREEs of what was released come back
    }
  }
  round(all);
  round(all);
  assert.equal(ok, 1000);
  assert.equal(all[0]!.pool.inUse, 0);
});

test('forward: at most maxInFlight of a shard’s frames are out (past that, drops are counted); a receiver holding half that copies what comes next and gives it back at once', () => {
  const all = shards(2, 128, 8);
  const [a, b] = all as [Shard, Shard];
  for (let n = 0; n < 10; n++) a.fwd.forward(frame(a.pool, n), 1);
  assert.equal(a.fwd.counters.forwarded, 8);
  assert.equal(a.fwd.counters.drops.inFlight, 2);
  assert.equal(a.pool.inUse, 8, 'the dropped ones went back to the pool at once');
  round(all);
  assert.equal(b.got.length, 8, 'all eight delivered');
  // B kept the first three as they came; from the fourth (half of 8) it copied and gave back.
  assert.equal(b.fwd.counters.copiedOnArrival, 5);
  round(all);
  assert.equal(a.fwd.inFlight[1], 3, 'A lends only what B still holds of its own frames');
  b.got.forEach((p, n) => assert.ok(frameIsIntact(p, n), `frame ${n} intact, copied or not`));
  assert.ok(a.fwd.forward(frame(a.pool, 10), 1), 'room again');
  round(all);
  b.got.forEach((p) => p.release());
  round(all);
  round(all);
  assert.equal(a.pool.inUse, 0);
  assert.equal(b.pool.inUse, 0);
});

test('forward: a packet that is not one whole shared frame (pieces, foreign bytes) is copied once into the sender’s pool', () => {
  const all = shards(2, 64);
  const [a, b] = all as [Shard, Shard];
  const bytes = new Uint8Array(700);
  fillFrame(bytes, 0, 700, 0);
  const p = Packet.wrap(bytes.slice(0, 300));
  p.appendFragment(bytes.slice(300), 0, 400);
  assert.ok(a.fwd.forward(p, 1));
  assert.equal(a.fwd.counters.copied, 1);
  round(all);
  assert.equal(b.got.length, 1);
  assert.deepEqual(b.got[0]!.toBytes(), bytes);
  b.got[0]!.release();
  round(all);
  assert.equal(a.pool.inUse, 0);
});

test('forward: a packet larger than a frame goes as a chain of frames and arrives as one packet; each frame comes back', () => {
  const all = shards(2, 64);
  const [a, b] = all as [Shard, Shard];
  const bytes = new Uint8Array(5000);
  fillFrame(bytes, 0, 5000, 3);
  assert.ok(a.fwd.forward(Packet.wrap(bytes), 1));
  assert.equal(a.fwd.counters.frames, 3, 'three 2 KB frames');
  assert.equal(a.fwd.inFlight[1], 3);
  round(all);
  assert.equal(b.got.length, 1, 'one packet');
  assert.deepEqual(b.got[0]!.toBytes(), bytes);
  b.got[0]!.release();
  round(all);
  assert.equal(a.fwd.counters.freed, 3);
  assert.equal(a.pool.inUse, 0);
});

test('forward: rings too small for the frames in flight each way are refused', () => {
  const mem = meshMemory(2, 64);
  const pool = new FramePool({ slots: 16, shared: true });
  assert.throws(() => new FrameForwarder(new MeshEndpoint(mem, 0), [pool], [sharedPoolsOf([pool]), []], 64, 1000), /cannot hold 1000 frames in flight/);
  assert.throws(() => sharedPoolsOf([new FramePool({ slots: 4 })]), /not in shared memory/);
});

test('forward across threads: 200,000 frames to a shard in a worker, every one intact and back in its pool', async () => {
  const count = 200_000;
  const maxInFlight = 500;
  const mem = meshMemory(2, 1024);
  const pool = new FramePool({ slots: 1024, shared: true });
  const infos = [sharedPoolsOf([pool]), []];
  const mesh = new MeshEndpoint(mem, 0);
  const fwd = new FrameForwarder(mesh, [pool], infos, mem.capacity, maxInFlight);
  const worker = new Worker(new URL('./forward-peer.js', import.meta.url), { workerData: { mesh: mem, pools: infos, count, maxInFlight } });
  const done = new Promise<{ seen: number; bad: number; received: number; sleeps: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  let sent = 0;
  while (sent < count || fwd.counters.freed < count) {
    let progress = 0;
    while (sent < count && fwd.inFlight[1]! < maxInFlight) {
      const p = Packet.alloc(pool);
      if (p === null) break;
      const len = frameLength(sent);
      fillFrame(p.bufs[0]!, p.append(len), len, sent);
      assert.ok(fwd.forward(p, 1));
      sent++;
      progress++;
      if (sent % 64 === 0) fwd.flush();
    }
    fwd.flush();
    progress += fwd.receive();
    if (progress === 0) {
      const sleeping = mesh.sleep(10_000);
      if (sleeping !== null && !(await sleeping)) throw new Error(`stalled: sent ${sent}, freed ${fwd.counters.freed}`);
    }
  }
  const peer = await done;
  await worker.terminate();
  console.log(`# forward: ${count} frames to a worker shard; sender slept ${mesh.counters.sleeps}, peer slept ${peer.sleeps}; bundles published ${mesh.counters.publishes}, doorbells rung ${mesh.counters.doorbells}`);
  assert.equal(peer.seen, count);
  assert.equal(peer.bad, 0, 'every frame byte for byte');
  assert.equal(fwd.counters.freed, count);
  assert.equal(pool.inUse, 0, 'pool balanced');
  assert.equal(pool.counters().doubleReleases, 0);
  assert.equal(fwd.counters.drops.inFlight + fwd.counters.drops.ringFull, 0);
});
