import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLoop } from '../../src/time/loop.js';
import { VirtualClock } from '../../src/time/clock.js';
import { GSO_UDP, Packet } from '../../src/packet/packet.js';
import { FramePool } from '../../src/packet/pool.js';
import { readU16, writeU16 } from '../../src/wire/addr.js';
import { finish, sum16 } from '../../src/wire/checksum.js';
import { MemoryDevice, MemorySwitch, MemoryWire, type FaultConfig, type MemoryDeviceOptions } from '../../src/link/memory/index.js';
import {
  ACK, CWR, ECE, FIN, MAC_A, MAC_B, PSH, Sink, Source, inspectTcp, packetOf, pattern, superFrame, tcpFrame, udpFrame,
} from './memory-frames.js';

function pair(ao: Partial<MemoryDeviceOptions>, bo: Partial<MemoryDeviceOptions>, aToB?: FaultConfig) {
  const a = new MemoryDevice({ mac: MAC_A, name: 'a', ...ao });
  const b = new MemoryDevice({ mac: MAC_B, name: 'b', ...bo });
  const wire = new MemoryWire(a, b, { aToB });
  const loop = new EventLoop(new VirtualClock());
  for (const p of wire.pollables()) loop.add(p);
  return { a, b, wire, loop, src: new Source(a.queues[0]), sink: new Sink(b.queues) };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Finishes a received partial checksum (as a forwarder would) so it can be checked. */
function finishReceived(bytes: Uint8Array, start: number, offset = 16): Uint8Array {
  const b = bytes.slice();
  writeU16(b, start + offset, finish(sum16(b, start, b.length - start)));
  return b;
}

// Timestamp option (NOP NOP TS) so headers carry options.
const TS = Uint8Array.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);

test('TSO: a super-frame becomes valid MTU-sized frames with the right lengths, ids, seqs and flags', () => {
  const { a, b, loop, src, sink } = pair({}, { lro: false, rxCsumL4: false, rxCsumIp: false });
  const payload = pattern(64000, 3);
  const mss = 1448;
  const seq0 = 0xffff_f000; // wraps
  const { packet, bytes } = superFrame({ seq: seq0, ipId: 0xfffe, flags: ACK | PSH | FIN | CWR | ECE, options: TS, payload }, mss);
  src.push(packet);
  loop.runUntil();
  const n = Math.ceil(64000 / mss);
  assert.equal(sink.got.length, n);
  assert.equal(a.counters.tsoFrames, 1);
  assert.equal(a.counters.tsoSegments, n);
  const parts: Uint8Array[] = [];
  sink.got.forEach((r, i) => {
    const t = inspectTcp(r.bytes);
    const segLen = Math.min(mss, 64000 - i * mss);
    assert.ok(t.ipOk, `segment ${i}: IPv4 header checksum`);
    assert.ok(t.tcpOk, `segment ${i}: TCP checksum`);
    assert.equal(r.bytes.length, 14 + 20 + 32 + segLen);
    assert.ok(r.bytes.length <= 1514);
    assert.equal(t.total, 20 + 32 + segLen);
    assert.equal(t.id, (0xfffe + i) & 0xffff);
    assert.equal(t.seq, (seq0 + i * mss) >>> 0);
    assert.equal(t.thl, 32);
    assert.deepEqual(r.bytes.subarray(54, 66), TS, 'options replicated');
    const last = i === n - 1;
    assert.equal(t.flags, ACK | ECE | (i === 0 ? CWR : 0) | (last ? PSH | FIN : 0), `segment ${i} flags`);
    assert.equal(r.csumVerified, false, 'no rx offload: not marked');
    parts.push(t.payload);
  });
  assert.deepEqual(concat(parts), payload);
  assert.deepEqual(packet.isReleased, true);
  assert.equal(bytes.length, 14 + 20 + 32 + 64000);
  assert.equal(b.pool.inUse, 0);
});

test('TSO: with rx checksum offload and no LRO, segments arrive partial and verified (veth-like)', () => {
  const { b, loop, src, sink } = pair({}, { lro: false });
  const payload = pattern(10000, 5);
  src.push(superFrame({ payload }, 1000).packet);
  loop.runUntil();
  assert.equal(sink.got.length, 10);
  for (const r of sink.got) {
    assert.equal(r.csumVerified, true);
    assert.equal(r.csumStart, 34);
    assert.ok(inspectTcp(finishReceived(r.bytes, 34)).tcpOk, 'the partial sum finishes to a valid checksum');
    assert.ok(inspectTcp(r.bytes).ipOk);
  }
  assert.deepEqual(concat(sink.got.map((r) => inspectTcp(r.bytes).payload)), payload);
  assert.equal(b.pool.inUse, 0);
});

test('fast path: a 64 KB super-frame reaches an LRO receiver whole, as one packet', () => {
  const { a, b, loop, src, sink } = pair({}, {});
  const payload = pattern(65535 - 40, 9);
  const { packet, bytes } = superFrame({ payload, flags: ACK | PSH }, 1448);
  src.push(packet);
  loop.runUntil();
  assert.equal(sink.got.length, 1);
  const r = sink.got[0]!;
  assert.equal(r.bytes.length, bytes.length);
  assert.equal(r.gsoSize, 1448);
  assert.equal(r.reassembled, true);
  assert.equal(r.csumVerified, true);
  assert.equal(r.csumStart, 34);
  const t = inspectTcp(r.bytes);
  assert.ok(t.ipOk, 'the device filled the IPv4 header checksum');
  assert.equal(t.total, 65535);
  assert.deepEqual(t.payload, payload);
  assert.ok(inspectTcp(finishReceived(r.bytes, 34)).tcpOk);
  assert.equal(a.counters.tsoSegments, 0, 'nothing was segmented');
  assert.equal(b.counters.rxSuperFrames, 1);
  assert.equal(b.largePool!.inUse, 0);
});

test('fast path: without a free 64 KB frame the super-frame is segmented and merged again', () => {
  const { b, loop, src, sink } = pair({}, { rxLargeSlots: 1 }, undefined);
  const kept: Packet[] = [];
  b.queues[0]!.setReceiver((burst, n) => {
    for (let i = 0; i < n; i++) {
      sink.got.push({ bytes: burst[i]!.toBytes(), csumVerified: burst[i]!.csumVerified, csumStart: burst[i]!.csumStart, gsoSize: burst[i]!.gsoSize, reassembled: burst[i]!.reassembled, rssHash: 0, queue: 0, at: 0 });
      kept.push(burst[i]!);
    }
  });
  const p1 = pattern(30000, 1);
  const p2 = pattern(30000, 2);
  src.push(superFrame({ seq: 0, payload: p1 }, 1448).packet, superFrame({ seq: 30000, payload: p2 }, 1448).packet);
  loop.runUntil();
  assert.equal(sink.got.length, 2);
  assert.equal(b.counters.rxSuperFrames, 1);
  assert.deepEqual(inspectTcp(sink.got[1]!.bytes).payload, p2);
  assert.equal(sink.got[1]!.reassembled, true);
  for (const p of kept) p.release();
  assert.equal(b.pool.inUse, 0);
  assert.equal(b.largePool!.inUse, 0);
});

test('LRO: segments cut on the wire (faults on the path) merge back into the original stream', () => {
  // An MTU clamp at the MTU drops nothing but makes the path per-frame: segmentation at the sender.
  const { a, b, loop, src, sink } = pair({}, {}, { mtuClamp: 1500 });
  const payload = pattern(60000, 11);
  src.push(superFrame({ seq: 77, payload, flags: ACK | PSH }, 1448).packet);
  loop.runUntil();
  assert.equal(a.counters.tsoSegments, Math.ceil(60000 / 1448));
  assert.equal(sink.got.length, 1, 'one burst of 42 segments merged into one packet');
  const r = sink.got[0]!;
  assert.equal(r.reassembled, true);
  assert.equal(r.gsoSize, 1448);
  assert.equal(r.csumVerified, true);
  const t = inspectTcp(r.bytes);
  assert.ok(t.ipOk);
  assert.equal(t.total, 40 + 60000);
  assert.equal(t.seq, 77);
  assert.equal(t.flags, ACK | PSH, 'PSH of the last segment');
  assert.deepEqual(t.payload, payload);
  assert.ok(inspectTcp(finishReceived(r.bytes, r.csumStart)).tcpOk, 'merged header is partial-checksum consistent');
  assert.equal(b.queues[0]!.lroMerged, 41);
  assert.equal(b.pool.inUse, 0);
});

test('LRO: merged headers take the last ack, window and options; PSH, gaps, other flags and flows end a merge', () => {
  const { b, loop, src, sink } = pair({}, {});
  const seg = (seq: number, o: { ack?: number; window?: number; ts?: number; flags?: number; len?: number; sport?: number } = {}) => {
    const opts = TS.slice();
    opts[11] = o.ts ?? 0;
    return Packet.wrap(tcpFrame({ seq, ack: o.ack ?? 1, window: o.window ?? 100, options: opts, flags: o.flags ?? ACK, sport: o.sport ?? 40000, payload: pattern(o.len ?? 100, seq + (o.sport ?? 0)) }));
  };
  src.push(
    seg(0, { ack: 1, window: 10, ts: 1 }),
    seg(100, { sport: 41000 }), // another flow, interleaved
    seg(100, { ack: 2, window: 20, ts: 2 }),
    seg(200, { sport: 41000 }),
    seg(200, { ack: 3, window: 30, ts: 3, flags: ACK | PSH }), // PSH: merged, then the merge ends
    seg(300, { ack: 4 }),
    seg(500, { ack: 5 }), // a gap: not merged
    seg(600, { flags: ACK | FIN }), // FIN: not merged, ends the merge
    seg(700),
  );
  loop.runUntil();
  const flow = sink.got.filter((r) => readU16(r.bytes, 34) === 40000).map((r) => inspectTcp(r.bytes));
  const other = sink.got.filter((r) => readU16(r.bytes, 34) === 41000).map((r) => inspectTcp(r.bytes));
  assert.deepEqual(flow.map((t) => [t.seq, t.payload.length]), [[0, 300], [300, 100], [500, 100], [600, 100], [700, 100]]);
  const m = flow[0]!;
  assert.equal(m.ack, 3);
  assert.equal(m.window, 30);
  assert.equal(m.flags, ACK | PSH);
  assert.equal(sink.got.find((r) => readU16(r.bytes, 34) === 40000)!.bytes[65], 3, 'last TSval');
  assert.deepEqual(other.map((t) => [t.seq, t.payload.length]), [[100, 200]]);
  assert.equal(b.pool.inUse, 0);
});

test('tx checksum offload: the device fills in correct IPv4 and TCP/UDP checksums, without touching the sender\'s memory', () => {
  const { b, loop, src, sink } = pair({}, { rxCsumL4: false });
  const tcp = tcpFrame({ payload: pattern(333, 4), csum: 'partial', noIpCsum: true });
  const udp = udpFrame({ payload: pattern(101, 5), csum: 'partial' });
  const tcpBefore = tcp.slice();
  src.push(packetOf(tcp, { csumStart: 34, csumOffset: 16 }), packetOf(udp, { csumStart: 34, csumOffset: 6 }));
  loop.runUntil();
  assert.equal(sink.got.length, 2);
  const t = inspectTcp(sink.got[0]!.bytes);
  assert.ok(t.ipOk && t.tcpOk);
  assert.deepEqual(sink.got[0]!.bytes, tcpFrame({ payload: pattern(333, 4) }), 'exactly the frame a stack would have checksummed');
  assert.deepEqual(sink.got[1]!.bytes, udpFrame({ payload: pattern(101, 5) }));
  assert.deepEqual(tcp, tcpBefore, 'the sender\'s buffer is unchanged');
  assert.equal(b.pool.inUse, 0);
});

test('rx checksum offload: correct checksums are verified, a bad one is delivered unverified and counted', () => {
  const { b, loop, src, sink } = pair({}, {});
  const bad = tcpFrame({ payload: pattern(200, 1) });
  bad[100]! ^= 0x40;
  const badUdp = udpFrame({ payload: pattern(20, 1) });
  badUdp[45]! ^= 1;
  src.push(Packet.wrap(tcpFrame({ payload: pattern(200, 1) })), Packet.wrap(bad), Packet.wrap(badUdp), Packet.wrap(udpFrame({ csum: 'none' })));
  loop.runUntil();
  assert.deepEqual(sink.got.map((r) => r.csumVerified), [true, false, false, false]);
  assert.equal(b.counters.rxCsumErrors, 2, 'a UDP datagram without checksum is not an error');
});

test('offload requests that do not fit are dropped and counted, never thrown', () => {
  const { a, b, loop, src, sink } = pair({}, { mtu: 1000 });
  const udpGso = udpFrame({ payload: pattern(3000) });
  const p1 = packetOf(udpGso, { gsoSize: 1000 });
  const p1b = packetOf(tcpFrame({ payload: pattern(3000) }), { gsoSize: 1000 });
  p1b.gsoType = GSO_UDP;
  const p2 = packetOf(tcpFrame({ payload: pattern(100) }), { csumStart: 200, csumOffset: 16 });
  const p3 = Packet.wrap(udpFrame({ payload: pattern(1473) })); // 1515 bytes: over MTU 1500
  const p4 = Packet.wrap(new Uint8Array(10)); // a runt
  const p5 = Packet.wrap(udpFrame({ payload: pattern(1200) })); // fits a's MTU, not b's
  src.push(p1, p1b, p2, p3, p4, p5);
  assert.doesNotThrow(() => loop.runUntil());
  assert.equal(a.counters.txMalformed, 4);
  assert.equal(a.counters.txOversize, 1);
  assert.equal(a.queues[0]!.stats.txDrops, 5);
  assert.equal(b.counters.rxOversize, 1);
  assert.equal(sink.got.length, 0);
  for (const p of [p1, p1b, p2, p3, p4, p5]) assert.ok(p.isReleased);

  const noTso = pair({ tso: false, txCsumL4: false }, {});
  noTso.src.push(superFrame({ payload: pattern(5000) }, 1000).packet, packetOf(tcpFrame({ csum: 'partial' }), { csumStart: 34 }));
  noTso.loop.runUntil();
  assert.equal(noTso.a.counters.txUnsupported, 2);
});

test('switch: a flooded super-frame reaches an LRO port whole and a port without LRO as segments', () => {
  const sw = new MemorySwitch();
  const a = new MemoryDevice({ mac: MAC_A });
  const b = new MemoryDevice({ mac: MAC_B });
  const c = new MemoryDevice({ mac: 0x02_00_00_00_00_0c, lro: false });
  sw.attach(a);
  sw.attach(b);
  sw.attach(c, { faults: { delay: 1 } });
  const loop = new EventLoop(new VirtualClock());
  for (const p of sw.pollables()) loop.add(p);
  const sb = new Sink(b.queues);
  const sc = new Sink(c.queues);
  const payload = pattern(20000, 8);
  // To an address the switch has not learned: flooded to b and c.
  new Source(a.queues[0]).push(superFrame({ dstMac: 0x02_00_00_00_00_99, payload }, 1000).packet);
  loop.runUntil();
  assert.equal(sb.got.length, 1);
  assert.equal(sb.got[0]!.gsoSize, 1000);
  assert.equal(sc.got.length, 20);
  assert.deepEqual(concat(sc.got.map((r) => inspectTcp(r.bytes).payload)), payload);
  assert.deepEqual(inspectTcp(sb.got[0]!.bytes).payload, payload);
  assert.equal(b.pool.inUse + b.largePool!.inUse + c.pool.inUse, 0);
});

test('handoff: on a clean path a pool frame reaches the receiver itself (no copy), finished as a NIC would, and goes back to the sender\'s pool', () => {
  const { a, b, loop, src } = pair({}, {});
  const sink = new Sink(b.queues, true);
  const pool = new FramePool({ slotSize: 2048, slots: 8 });
  const frame = (): Packet => {
    const bytes = tcpFrame({ payload: pattern(300, 7), csum: 'partial', noIpCsum: true });
    const p = Packet.alloc(pool, 64)!;
    p.bufs[0]!.set(bytes, p.append(bytes.length));
    p.csumStart = 34;
    p.csumOffset = 16;
    return p;
  };
  src.push(frame());
  loop.runUntil();
  assert.equal(b.counters.rxHandoffs, 1);
  assert.equal(b.pool.inUse, 0, 'no receive buffer taken');
  assert.equal(pool.inUse, 1, 'the receiver holds the sender\'s frame');
  const got = sink.got[0]!;
  assert.equal(got.csumVerified, true);
  assert.ok(inspectTcp(finishReceived(got.bytes, 34)).ipOk, 'the IPv4 checksum was filled in');
  sink.kept[0]!.release();
  assert.equal(pool.inUse, 0, 'released by the receiver, back in the sender\'s pool');
  // With more than half of the sender's pool in use, the receiver copies instead.
  const held = [Packet.alloc(pool)!, Packet.alloc(pool)!, Packet.alloc(pool)!, Packet.alloc(pool)!];
  src.push(frame());
  loop.runUntil();
  assert.equal(b.counters.rxHandoffs, 1, 'copied this time');
  assert.equal(pool.inUse, 4, 'the sender\'s frame came back at once');
  assert.deepEqual(sink.got[1]!.bytes, got.bytes);
  for (const p of [...held, ...sink.kept]) p.release();
  assert.equal(a.pool.inUse + b.pool.inUse + pool.inUse, 0);
});

test('handoff: never with faults on the path (each receiver gets its own copy to spoil)', () => {
  const { b, loop, src } = pair({}, {}, { duplicate: 0.5 });
  const sink = new Sink(b.queues);
  const pool = new FramePool({ slotSize: 2048, slots: 8 });
  for (let i = 0; i < 4; i++) {
    const bytes = tcpFrame({ payload: pattern(100, i) });
    const p = Packet.alloc(pool, 64)!;
    p.bufs[0]!.set(bytes, p.append(bytes.length));
    src.push(p);
  }
  loop.runUntil();
  assert.ok(sink.got.length >= 4);
  assert.equal(b.counters.rxHandoffs, 0);
  assert.equal(pool.inUse, 0);
});

test('handoff: a frame the switch floods to several ports is copied to each, the sender\'s own frame left alone', () => {
  const sw = new MemorySwitch();
  const a = new MemoryDevice({ mac: MAC_A });
  const b = new MemoryDevice({ mac: MAC_B });
  const c = new MemoryDevice({ mac: 0x02_00_00_00_00_0c });
  for (const d of [a, b, c]) sw.attach(d);
  const loop = new EventLoop(new VirtualClock());
  for (const p of sw.pollables()) loop.add(p);
  const sb = new Sink(b.queues);
  const sc = new Sink(c.queues);
  const pool = new FramePool({ slotSize: 2048, slots: 8 });
  const bytes = tcpFrame({ dstMac: 0x02_00_00_00_00_99, payload: pattern(100, 3) });
  const p = Packet.alloc(pool, 64)!;
  p.bufs[0]!.set(bytes, p.append(bytes.length));
  new Source(a.queues[0]).push(p);
  loop.runUntil();
  assert.equal(sb.got.length + sc.got.length, 2);
  assert.deepEqual(sb.got[0]!.bytes, bytes);
  assert.deepEqual(sc.got[0]!.bytes, bytes);
  assert.equal(b.counters.rxHandoffs + c.counters.rxHandoffs, 0);
  assert.equal(pool.inUse, 0);
});
