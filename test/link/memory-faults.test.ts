import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLoop } from '../../src/time/loop.js';
import { VirtualClock } from '../../src/time/clock.js';
import { Packet } from '../../src/packet/packet.js';
import { CallbackOwner } from '../../src/packet/owner.js';
import { readU32 } from '../../src/wire/addr.js';
import { seedFromEnv } from '../../src/util/random.js';
import { MemoryDevice, MemoryWire, type FaultConfig, type FaultCounters } from '../../src/link/memory/index.js';
import { MAC_A, MAC_B, Sink, Source, inspectTcp, pattern, superFrame, udpFrame } from './memory-frames.js';

interface Run {
  /** Index carried in each arrived frame, in arrival order. */
  order: number[];
  got: Sink['got'];
  sent: Uint8Array[];
  counters: FaultCounters;
  b: MemoryDevice;
  released: number;
  clock: VirtualClock;
}

/** Sends `n` UDP frames (index in the payload) from a to b at time 0 (or at `sendAt(i)`), runs to the end. */
function run(faults: FaultConfig, seed: number, n = 10_000, opts: { size?: number; sendAt?: (i: number) => number } = {}): Run {
  const a = new MemoryDevice({ mac: MAC_A, txRing: 1024, burst: 256 });
  const b = new MemoryDevice({ mac: MAC_B, rxRing: 4096, burst: 256, rxPoolSlots: 8192 });
  const wire = new MemoryWire(a, b, { aToB: faults, seed });
  const clock = new VirtualClock();
  const loop = new EventLoop(clock);
  for (const p of wire.pollables()) loop.add(p);
  const sink = new Sink(b.queues);
  sink.now = () => clock.now();
  const src = new Source(a.queues[0]);
  const sent: Uint8Array[] = [];
  let released = 0;
  const size = opts.size ?? 100;
  for (let i = 0; i < n; i++) {
    const payload = pattern(size - 42, i + 1);
    new DataView(payload.buffer).setUint32(0, i);
    const f = udpFrame({ payload });
    sent.push(f.slice());
    const p = Packet.wrap(f, 0, f.length, new CallbackOwner(() => released++));
    if (opts.sendAt) loop.timers.schedule(opts.sendAt(i), () => src.push(p));
    else src.push(p);
  }
  loop.runUntil();
  assert.equal(wire.aToB.inFlight, 0);
  assert.equal(b.pool.inUse, 0, 'every received frame went back to the pool');
  assert.equal(released, n, 'every sent frame was released (TX completion)');
  return { order: sink.got.map((r) => readU32(r.bytes, 42)), got: sink.got, sent, counters: wire.aToB.counters, b, released, clock };
}

/** `count` is within 6 standard deviations of n·p. */
function near(count: number, n: number, p: number, what: string, seed: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(count - n * p) <= 6 * sd + 1, `${what}: ${count} for n·p = ${n * p} (seed ${seed})`);
}

/** Counters add up to what arrived. */
function balanced(r: Run, seed: number): void {
  const c = r.counters;
  assert.equal(c.delivered, c.frames - c.dropped - c.rateDrops - c.mtuDrops - c.limitDrops + c.duplicated, `seed ${seed}`);
  assert.equal(r.got.length, c.delivered, `seed ${seed}`);
  assert.equal(r.b.totals().rxFrames, c.delivered, `seed ${seed}`);
}

const seed = seedFromEnv();

test('faults: loss drops frames at its rate, and the counters match what arrived', () => {
  const r = run({ loss: 0.1 }, seed);
  near(r.counters.dropped, 10_000, 0.1, 'lost', seed);
  balanced(r, seed);
  assert.deepEqual(r.order, [...r.order].sort((x, y) => x - y), `in order (seed ${seed})`);
  for (const x of r.got) assert.equal(x.csumVerified, true);
});

test('faults: duplicates arrive right after the original', () => {
  const r = run({ duplicate: 0.05 }, seed);
  near(r.counters.duplicated, 10_000, 0.05, 'duplicated', seed);
  balanced(r, seed);
  let dups = 0;
  for (let i = 1; i < r.order.length; i++) if (r.order[i] === r.order[i - 1]) dups++;
  assert.equal(dups, r.counters.duplicated, `seed ${seed}`);
  assert.deepEqual([...new Set(r.order)], Array.from({ length: 10_000 }, (_, i) => i));
});

test('faults: reorder holds a frame back by k positions', () => {
  const k = 3;
  const r = run({ reorder: 0.05, reorderDistance: k }, seed);
  near(r.counters.reordered, 10_000, 0.05, 'reordered', seed);
  balanced(r, seed);
  assert.deepEqual([...r.order].sort((x, y) => x - y), Array.from({ length: 10_000 }, (_, i) => i), 'nothing lost');
  // A frame that arrives after a later one was held back; none is held back by more than it should.
  let late = 0;
  let max = -1;
  for (const i of r.order) {
    if (i < max) {
      late++;
      assert.ok(max - i <= 20, `frame ${i} arrived after ${max} (seed ${seed})`);
    }
    max = Math.max(max, i);
  }
  assert.equal(late, r.counters.reordered, `seed ${seed}`);
  // An isolated held frame lands exactly after the next k frames.
  const pos = new Map(r.order.map((x, p) => [x, p]));
  let checked = 0;
  for (let i = 10; i < 9990; i++) {
    const p = pos.get(i)!;
    if (p - pos.get(i - 1)! === k + 1 && [1, 2, 3].every((d) => pos.get(i + d)! < p)) checked++;
  }
  assert.ok(checked > r.counters.reordered / 2, `${checked} held back exactly ${k} (seed ${seed})`);
});

test('faults: corruption flips one byte in the receiver\'s copy only, and checksums catch it', () => {
  const r = run({ corrupt: 0.05 }, seed);
  near(r.counters.corrupted, 10_000, 0.05, 'corrupted', seed);
  balanced(r, seed);
  let differing = 0;
  for (const x of r.got) {
    // The index may itself be corrupted: find the frame by comparing with all but one byte.
    const i = readU32(x.bytes, 42);
    let orig = r.sent[i];
    if (orig === undefined || diffs(orig, x.bytes).length > 1) orig = r.sent.find((s) => s.length === x.bytes.length && diffs(s, x.bytes).length <= 1)!;
    const d = diffs(orig, x.bytes);
    assert.ok(d.length <= 1, `at most one byte changed (seed ${seed})`);
    if (d.length === 1) {
      differing++;
      if (d[0]! >= 14) assert.equal(x.csumVerified, false, `corruption at byte ${d[0]} must fail a checksum (seed ${seed})`);
    } else {
      assert.equal(x.csumVerified, true);
    }
  }
  assert.equal(differing, r.counters.corrupted, `seed ${seed}`);
  assert.ok(r.b.counters.rxCsumErrors > 0);
});

function diffs(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

test('faults: the sender\'s buffers are never altered, whatever the faults', () => {
  const a = new MemoryDevice({ mac: MAC_A });
  const b = new MemoryDevice({ mac: MAC_B });
  const wire = new MemoryWire(a, b, { aToB: { corrupt: 1, duplicate: 0.5 }, seed });
  const loop = new EventLoop(new VirtualClock());
  for (const p of wire.pollables()) loop.add(p);
  new Sink(b.queues);
  const frames = Array.from({ length: 200 }, (_, i) => udpFrame({ sport: i + 1, payload: pattern(300, i) }));
  const copies = frames.map((f) => f.slice());
  new Source(a.queues[0]).push(...frames.map((f) => Packet.wrap(f)));
  loop.runUntil();
  assert.equal(wire.aToB.counters.corrupted, 200 + wire.aToB.counters.duplicated);
  assert.deepEqual(frames, copies, `seed ${seed}`);
});

test('faults: the same seed gives the same run; another seed another', () => {
  const cfg: FaultConfig = { loss: 0.02, duplicate: 0.02, reorder: 0.02, corrupt: 0.02, jitter: 2 };
  const r1 = run(cfg, 1234, 3000);
  const r2 = run(cfg, 1234, 3000);
  const r3 = run(cfg, 4321, 3000);
  assert.deepEqual(r1.counters, r2.counters);
  assert.deepEqual(r1.order, r2.order);
  assert.deepEqual(r1.got.map((x) => [x.bytes, x.at]), r2.got.map((x) => [x.bytes, x.at]));
  assert.notDeepEqual(r1.order, r3.order);
});

test('faults: delay plus jitter lands each frame at send + delay + [0, jitter), in FIFO order', () => {
  const n = 2000;
  const sendAt = (i: number) => i * 0.05;
  const r = run({ delay: 10, jitter: 5 }, seed, n, { sendAt });
  assert.equal(r.counters.delayed, n);
  assert.deepEqual(r.order, Array.from({ length: n }, (_, i) => i), `FIFO (seed ${seed})`);
  let prev = 0;
  let spread = 0;
  for (const x of r.got) {
    const i = readU32(x.bytes, 42);
    assert.ok(x.at >= sendAt(i) + 10 && x.at < sendAt(i) + 15, `frame ${i} sent ${sendAt(i)} landed ${x.at} (seed ${seed})`);
    assert.ok(x.at >= prev);
    prev = x.at;
    if (x.at > sendAt(i) + 12) spread++;
  }
  assert.ok(spread > n / 10, `jitter spreads landing times (seed ${seed})`);
});

test('faults: frames that land together are handed over in bursts the receiver can take, not dropped', () => {
  const r = run({ delay: 5 }, seed, 5000);
  assert.equal(r.got.length, 5000);
  assert.equal(r.b.totals().rxDrops, 0);
  assert.ok(r.got.every((x) => x.at === 5));
});

test('faults: a rate limit spaces frames by their serialization time and tail-drops beyond its queue', () => {
  // 8 Mbit/s: a 1000-byte frame takes 1 ms.
  const r = run({ rate: 8e6, queueFrames: 10 }, seed, 30, { size: 1000 });
  assert.equal(r.counters.rateDrops, 20, 'all sent at once: 10 fit the queue');
  assert.deepEqual(r.got.map((x) => x.at), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // Sent at 0.5 ms intervals into a 4 ms queue bound in bytes: the queue fills, then every other frame fits.
  const r2 = run({ rate: 8e6, queueBytes: 4000 }, seed, 40, { size: 1000, sendAt: (i) => i * 0.5 });
  const at = r2.got.map((x) => x.at);
  for (let i = 1; i < at.length; i++) assert.ok(Math.abs(at[i]! - at[i - 1]! - 1) < 1e-9, `spaced by 1 ms: ${at}`);
  assert.ok(r2.counters.rateDrops >= 15 && r2.counters.rateDrops <= 21, `rateDrops ${r2.counters.rateDrops}`);
  balanced(r2, seed);
});

test('faults: an MTU clamp drops frames with a larger IP packet', () => {
  const a = new MemoryDevice({ mac: MAC_A });
  const b = new MemoryDevice({ mac: MAC_B });
  const wire = new MemoryWire(a, b, { aToB: { mtuClamp: 1000 } });
  const loop = new EventLoop(new VirtualClock());
  for (const p of wire.pollables()) loop.add(p);
  const sink = new Sink(b.queues);
  new Source(a.queues[0]).push(
    Packet.wrap(udpFrame({ payload: pattern(1000 - 28) })), // IP 1000: fits
    Packet.wrap(udpFrame({ payload: pattern(1001 - 28) })), // IP 1001: dropped
  );
  loop.runUntil();
  assert.equal(sink.got.length, 1);
  assert.equal(wire.aToB.counters.mtuDrops, 1);
});

test('faults: super-frames are cut into wire frames before per-frame faults act on them', () => {
  const a = new MemoryDevice({ mac: MAC_A });
  const b = new MemoryDevice({ mac: MAC_B });
  const wire = new MemoryWire(a, b, { aToB: { loss: 0.3 }, seed });
  const loop = new EventLoop(new VirtualClock());
  for (const p of wire.pollables()) loop.add(p);
  const sink = new Sink(b.queues);
  const payload = pattern(60000, 2);
  new Source(a.queues[0]).push(superFrame({ payload }, 1000).packet);
  loop.runUntil();
  const c = wire.aToB.counters;
  assert.equal(c.frames, 60);
  assert.ok(c.dropped > 0 && c.dropped < 60, `seed ${seed}`);
  // What arrived is valid, merged where consecutive, and adds up to the surviving segments.
  let bytes = 0;
  for (const x of sink.got) {
    const t = inspectTcp(x.bytes);
    assert.ok(t.ipOk);
    assert.deepEqual(t.payload, payload.subarray(t.seq - 1000, t.seq - 1000 + t.payload.length));
    bytes += t.payload.length;
  }
  assert.equal(bytes, (60 - c.dropped) * 1000, `seed ${seed}`);
  assert.equal(b.pool.inUse, 0);
});
