import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLoop } from '../../src/time/loop.js';
import { VirtualClock } from '../../src/time/clock.js';
import { FramePool } from '../../src/packet/pool.js';
import { Packet } from '../../src/packet/packet.js';
import { MAC_BROADCAST, readMac } from '../../src/wire/addr.js';
import { MemoryDevice, MemorySwitch, MemoryWire, type MemoryDeviceOptions } from '../../src/link/memory/index.js';
import type { Pollable } from '../../src/link/device.js';
import { MAC_A, MAC_B, MAC_C, Sink, Source, pattern, rawFrame, tcpFrame, udpFrame } from './memory-frames.js';

function loopOf(...pollables: Pollable[][]): { loop: EventLoop; clock: VirtualClock } {
  const clock = new VirtualClock();
  const loop = new EventLoop(clock);
  for (const ps of pollables) for (const p of ps) loop.add(p);
  return { loop, clock };
}

function dev(mac: number, o: Partial<MemoryDeviceOptions> = {}): MemoryDevice {
  return new MemoryDevice({ mac, rxPoolSlots: 4096, ...o });
}

test('memory wire: frames go both ways, unchanged, and every frame goes back to its pool', () => {
  const a = dev(MAC_A, { name: 'a' });
  const b = dev(MAC_B, { name: 'b' });
  const wire = new MemoryWire(a, b);
  const { loop } = loopOf(wire.pollables());
  const txPool = new FramePool({ slots: 64 });
  const sa = new Source(a.queues[0]);
  const sb = new Source(b.queues[0]);
  const ra = new Sink(a.queues);
  const rb = new Sink(b.queues);
  const toB: Uint8Array[] = [];
  const toA: Uint8Array[] = [];
  for (let i = 0; i < 20; i++) {
    const f = tcpFrame({ seq: i * 100, payload: pattern(100 + i, i + 1), flags: 0x18 });
    toB.push(f);
    sa.push(Packet.copyOf(txPool, f)!);
    const g = udpFrame({ srcMac: MAC_B, dstMac: MAC_A, sport: 1000 + i, payload: pattern(50, i + 7) });
    toA.push(g);
    sb.push(Packet.copyOf(txPool, g)!);
  }
  loop.runUntil();
  assert.deepEqual(rb.got.map((r) => r.bytes), toB);
  assert.deepEqual(ra.got.map((r) => r.bytes), toA);
  assert.ok(rb.got.every((r) => r.csumVerified) && ra.got.every((r) => r.csumVerified), 'correct checksums are verified');
  assert.equal(a.totals().txFrames, 20);
  assert.equal(b.totals().rxFrames, 20);
  assert.equal(wire.counters.aToB.delivered, 20);
  assert.equal(txPool.inUse, 0, 'sent frames are released after they landed (TX completion)');
  assert.equal(a.pool.inUse, 0);
  assert.equal(b.pool.inUse, 0);
});

test('memory wire: a device connects to one medium only, and an unplugged device drops what it sends', () => {
  const a = dev(MAC_A);
  const b = dev(MAC_B);
  const c = dev(MAC_C);
  const wire = new MemoryWire(a, b);
  assert.throws(() => new MemoryWire(a, c), /already connected/);
  assert.equal(c.connected, false, 'a failed wire leaves the other end unplugged');
  wire.disconnect();
  const s = new Source(a.queues[0]).push(Packet.wrap(rawFrame(MAC_B, MAC_A)));
  a.queues[0]!.poll(0);
  assert.equal(s.pending.length, 0);
  assert.equal(a.counters.txNoCarrier, 1);
  assert.equal(a.queues[0]!.stats.txDrops, 1);
});

test('memory switch: learns, forwards unicast to one port, floods broadcast and unknown destinations, never back out', () => {
  const sw = new MemorySwitch();
  const devs = [dev(MAC_A), dev(MAC_B), dev(MAC_C)];
  for (const d of devs) sw.attach(d);
  const sinks = devs.map((d) => new Sink(d.queues));
  const srcs = devs.map((d) => new Source(d.queues[0]));
  const { loop } = loopOf(sw.pollables());
  const count = () => sinks.map((s) => s.got.length);

  // A → B: B unknown, flooded to B and C.
  srcs[0]!.push(Packet.wrap(rawFrame(MAC_B, MAC_A, 46, 0x88b5, 1)));
  loop.runUntil();
  assert.deepEqual(count(), [0, 1, 1]);
  assert.equal(sw.counters.flooded, 1);
  // B → A: A was learned, so only A.
  srcs[1]!.push(Packet.wrap(rawFrame(MAC_A, MAC_B, 46, 0x88b5, 2)));
  loop.runUntil();
  assert.deepEqual(count(), [1, 1, 1]);
  // A → B again: B learned now, only B.
  srcs[0]!.push(Packet.wrap(rawFrame(MAC_B, MAC_A, 46, 0x88b5, 3)));
  loop.runUntil();
  assert.deepEqual(count(), [1, 2, 1]);
  assert.equal(sw.counters.forwarded, 2);
  // C broadcasts: A and B, not C.
  srcs[2]!.push(Packet.wrap(rawFrame(MAC_BROADCAST, MAC_C, 46, 0x88b5, 4)));
  loop.runUntil();
  assert.deepEqual(count(), [2, 3, 1]);
  // A frame to an address behind its own port is filtered.
  srcs[0]!.push(Packet.wrap(rawFrame(MAC_A, MAC_A, 46, 0x88b5, 5)));
  loop.runUntil();
  assert.deepEqual(count(), [2, 3, 1]);
  assert.equal(sw.counters.filtered, 1);
  assert.equal(sw.tableEntries, 3);
  for (const d of devs) assert.equal(d.pool.inUse, 0);
});

test('memory switch: a flooded frame is a separate copy per port', () => {
  const sw = new MemorySwitch();
  const devs = [dev(MAC_A), dev(MAC_B), dev(MAC_C)];
  for (const d of devs) sw.attach(d);
  const seen: Uint8Array[] = [];
  // B scribbles over its copy; C must still see the original.
  devs[1]!.queues[0]!.setReceiver((burst, n) => {
    for (let i = 0; i < n; i++) {
      const p = burst[i]!;
      p.bufs[0]!.fill(0xee, p.offs[0]!, p.offs[0]! + p.lens[0]!);
      p.release();
    }
  });
  devs[2]!.queues[0]!.setReceiver((burst, n) => {
    for (let i = 0; i < n; i++) {
      seen.push(burst[i]!.toBytes());
      burst[i]!.release();
    }
  });
  new Sink(devs[0]!.queues);
  const frame = rawFrame(MAC_BROADCAST, MAC_A, 100, 0x88b5, 0x5a);
  new Source(devs[0]!.queues[0]).push(Packet.wrap(frame.slice()));
  const { loop } = loopOf([devs[2]!.queues[0]!, devs[1]!.queues[0]!, devs[0]!.queues[0]!, sw]);
  loop.runUntil();
  assert.deepEqual(seen, [frame]);
});

test('memory switch: the MAC table keeps its size limit and entries age out in the caller\'s time', () => {
  const sw = new MemorySwitch({ macTableSize: 2, agingMs: 1000 });
  const a = dev(MAC_A);
  const b = dev(MAC_B);
  sw.attach(a);
  sw.attach(b);
  new Sink(b.queues);
  const { loop, clock } = loopOf(sw.pollables());
  const src = new Source(a.queues[0]);
  // A (one port) sends with five different source addresses.
  for (let i = 0; i < 5; i++) src.push(Packet.wrap(rawFrame(MAC_B, 0x02_00_00_00_01_00 + i)));
  loop.runUntil();
  assert.equal(sw.tableEntries, 2);
  assert.equal(sw.counters.learned, 2);
  assert.equal(sw.counters.tableFull, 3);
  assert.notEqual(sw.lookup(0x02_00_00_00_01_00, clock.now()), null);
  assert.equal(sw.lookup(0x02_00_00_00_01_04, clock.now()), null, 'not learned: the table was full');
  // After the aging time the old entries make room again.
  clock.advanceTo(2000);
  src.push(Packet.wrap(rawFrame(MAC_B, 0x02_00_00_00_01_04)));
  loop.runUntil();
  assert.equal(sw.lookup(0x02_00_00_00_01_04, clock.now())?.device, a);
  assert.equal(sw.lookup(0x02_00_00_00_01_00, clock.now()), null, 'aged out');
  assert.ok(sw.tableEntries <= 2);
});

test('memory queue: bursts are delivered whole and never larger than `burst`', () => {
  const a = dev(MAC_A);
  const b = dev(MAC_B, { burst: 8 });
  const wire = new MemoryWire(a, b);
  const { loop } = loopOf(wire.pollables());
  const sink = new Sink(b.queues);
  const src = new Source(a.queues[0]);
  for (let i = 0; i < 100; i++) src.push(Packet.wrap(udpFrame({ sport: i + 1 })));
  loop.runUntil();
  assert.equal(sink.got.length, 100);
  assert.ok(sink.bursts.every((n) => n >= 1 && n <= 8), `bursts ${sink.bursts}`);
  assert.ok(sink.bursts.filter((n) => n === 8).length >= 10, 'full bursts when frames are waiting');
  assert.deepEqual(sink.got.map((r) => readMac(r.bytes, 0)), new Array(100).fill(MAC_B));
});

test('memory queue: a full TX ring asks no provider; a provider with nothing is skipped for the poll', () => {
  const a = dev(MAC_A, { txRing: 4, burst: 2 });
  const b = dev(MAC_B);
  new MemoryWire(a, b);
  new Sink(b.queues);
  let asked = 0;
  const endless = (): Packet | null => {
    asked++;
    return Packet.wrap(udpFrame());
  };
  let emptyAsked = 0;
  const empty = (): Packet | null => {
    emptyAsked++;
    return null;
  };
  const q = a.queues[0]!;
  q.addProvider(endless);
  q.addProvider(empty);
  q.poll(0);
  assert.equal(asked, 4, 'pulled until the ring was full, not once more');
  assert.equal(emptyAsked, 1, 'asked once, then skipped for this poll');
  assert.equal(q.stats.txFrames, 2, 'a burst of 2 went out');
  q.poll(0);
  assert.equal(asked, 6, 'two slots were free');
  assert.equal(emptyAsked, 2);
  q.removeProvider(endless);
  q.poll(0);
  q.poll(0);
  assert.equal(asked, 6);
  assert.equal(q.stats.txFrames, 6, "the ring drained");
  assert.equal(q.nextEventAt(), Infinity);
  b.queues[0]!.poll(0);
  assert.equal(b.pool.inUse, 0);
});

test('memory queue: an RX ring overflow drops and counts, and what fit is delivered', () => {
  const a = dev(MAC_A);
  const b = dev(MAC_B, { rxRing: 16 });
  new MemoryWire(a, b);
  const sink = new Sink(b.queues);
  const src = new Source(a.queues[0]);
  for (let i = 0; i < 100; i++) src.push(Packet.wrap(udpFrame({ sport: i + 1 })));
  a.queues[0]!.poll(0);
  a.queues[0]!.poll(0);
  assert.equal(b.queues[0]!.stats.rxDrops, 100 - 16);
  assert.equal(b.counters.rxRingFull, 100 - 16);
  assert.equal(b.pool.inUse, 16, 'the ring holds 16 frames');
  b.queues[0]!.poll(0);
  assert.equal(sink.got.length, 16);
  assert.equal(b.pool.inUse, 0);
});

test('memory device: no receiver means the frames are dropped and counted, not kept', () => {
  const a = dev(MAC_A);
  const b = dev(MAC_B);
  new MemoryWire(a, b);
  new Source(a.queues[0]).push(Packet.wrap(udpFrame()), Packet.wrap(udpFrame()));
  a.queues[0]!.poll(0);
  assert.equal(b.counters.rxNoReceiver, 2);
  assert.equal(b.queues[0]!.nextEventAt(), Infinity);
  assert.equal(b.pool.inUse, 0);
});

test('memory device: options are checked', () => {
  assert.throws(() => new MemoryDevice({ mac: MAC_A, queues: 0 }), RangeError);
  assert.throws(() => new MemoryDevice({ mac: MAC_A, mtu: 20 }), RangeError);
  assert.throws(() => new MemoryDevice({ mac: MAC_A, queues: 2, rssTable: new Uint8Array(128).fill(2) }), RangeError);
  const d = new MemoryDevice({ mac: MAC_A, queues: 4 });
  assert.equal(d.queues.length, 4);
  assert.deepEqual(d.features.mtu, 1500);
  assert.equal(d.pool.slotSize, 2048);
  assert.ok(d.largePool !== null && d.largePool.slotSize >= 65535 + 14);
});
