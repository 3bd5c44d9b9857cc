/**
 * SACK (RFC 2018) and SACK-based loss recovery (RFC 6675): negotiation, the blocks we
 * send (most recent first), the scoreboard against hostile blocks, retransmitting only
 * what was lost, and a bulk transfer under 5% loss compared with NewReno without SACK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, Raw, A_ADDR, B_ADDR, patternBytes, sha256, pump, drain, type RawSegment } from './tcp-harness.js';
import { TCP_ACK, TCP_SYN, writeTcpChecksum } from '../../src/wire/tcp.js';
import { writeU16, writeU32 } from '../../src/wire/addr.js';
import { Packet } from '../../src/packet/packet.js';
import { Random, seedFromEnv } from '../../src/util/random.js';
import { seedNote } from '../support/require.js';
import type { TcpConnection, TcpOptions } from '../../src/stack/tcp/index.js';
import type { TcpOptions as WireOptions } from '../../src/wire/tcp-options.js';
import { SackScoreboard, SACK_BLOCK_BAD, SACK_BLOCK_OK, SACK_BLOCK_OLD } from '../../src/stack/tcp/sack.js';

const SEED = seedFromEnv();
const S = seedNote(SEED);
const PEER_ISN = 7_000_000;
const MSS = 1460;

interface Open {
  r: Raw;
  c: TcpConnection;
  iss: number;
  syn: RawSegment;
  /** The peer sends: a segment with `payload` at `seq`, acking `ack`, with `options`. */
  send(seq: number, ack: number, payload?: Uint8Array, options?: WireOptions): RawSegment[];
}

function open(peer: WireOptions, options?: TcpOptions): Open {
  const r = new Raw(SEED, options);
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  const [syn] = r.collect();
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN, ack: syn!.seq + 1, flags: TCP_SYN | TCP_ACK, window: 65535, urgent: 0, options: peer });
  r.collect();
  return {
    r,
    c,
    iss: syn!.seq,
    syn: syn!,
    send(seq, ack, payload = new Uint8Array(0), o) {
      r.send({ srcPort: 80, dstPort: c.localPort, seq: seq >>> 0, ack: ack >>> 0, flags: TCP_ACK, window: 65535, urgent: 0, ...(o ? { options: o } : {}) }, payload);
      return r.collect();
    },
  };
}

test('tcp sack: SACK-permitted offered in our SYN, on only when the peer offers it too', () => {
  const a = open({ mss: MSS, sackPermitted: true });
  assert.equal(a.syn.options.sackPermitted, true);
  assert.equal(a.c.snd.sackOk, true);
  const b = open({ mss: MSS });
  assert.equal(b.c.snd.sackOk, false, 'the peer did not offer it');
  const c = open({ mss: MSS, sackPermitted: true }, { sack: false });
  assert.equal(c.syn.options.sackPermitted, undefined, 'switched off: not offered');
  assert.equal(c.c.snd.sackOk, false);
  // Passive: the SYN-ACK carries SACK-permitted only in answer to it.
  for (const offer of [true, false]) {
    const r = new Raw(SEED);
    r.tcp.listen(80);
    r.send({ srcPort: 4000, dstPort: 80, seq: PEER_ISN, ack: 0, flags: TCP_SYN, window: 65535, urgent: 0, options: { mss: MSS, sackPermitted: offer } });
    const [synack] = r.take();
    assert.equal(synack!.options.sackPermitted, offer ? true : undefined);
  }
});

test('tcp sack: the blocks we send describe what is held, the most recent first (RFC 2018 §4)', () => {
  // No timestamps: room for 4 blocks.
  const o = open({ mss: MSS, sackPermitted: true });
  const base = PEER_ISN + 1;
  const una = o.iss + 1;
  const piece = (i: number): Uint8Array => new Uint8Array(1000).fill(i);
  const lastAck = (segs: RawSegment[]): RawSegment => {
    const a = segs.filter((s) => s.flags & TCP_ACK).at(-1);
    assert.ok(a, `an ACK ${S}`);
    return a;
  };
  const blocks = (s: RawSegment): number[] => (s.options.sack ?? []).map((x) => x - base);
  let a = lastAck(o.send(base + 1000, una, piece(1)));
  assert.equal(a.ack, base);
  assert.deepEqual(blocks(a), [1000, 2000]);
  a = lastAck(o.send(base + 3000, una, piece(3)));
  assert.deepEqual(blocks(a), [3000, 4000, 1000, 2000]);
  a = lastAck(o.send(base + 5000, una, piece(5)));
  assert.deepEqual(blocks(a), [5000, 6000, 3000, 4000, 1000, 2000]);
  a = lastAck(o.send(base + 7000, una, piece(7)));
  assert.deepEqual(blocks(a), [7000, 8000, 5000, 6000, 3000, 4000, 1000, 2000], 'four blocks fit without timestamps');
  a = lastAck(o.send(base + 9000, una, piece(9)));
  assert.deepEqual(blocks(a), [9000, 10000, 7000, 8000, 5000, 6000, 3000, 4000], 'the oldest block drops off');
  // 2000..3000 joins [1000, 2000) and [3000, 4000): that block comes first, the parts it covers go.
  a = lastAck(o.send(base + 2000, una, piece(2)));
  assert.deepEqual(blocks(a), [1000, 4000, 9000, 10000, 7000, 8000, 5000, 6000]);
  // The first hole fills: the cumulative ACK moves, blocks below it go.
  a = lastAck(o.send(base, una, piece(0)));
  assert.equal(a.ack, base + 4000);
  assert.deepEqual(blocks(a), [9000, 10000, 7000, 8000, 5000, 6000]);
  // Everything: no blocks at all.
  o.send(base + 4000, una, piece(4));
  o.send(base + 6000, una, piece(6));
  a = lastAck(o.send(base + 8000, una, piece(8)));
  assert.equal(a.ack, base + 10000);
  assert.equal(a.options.sack, undefined);
  assert.equal(o.r.tcp.counters.drops.internalError, 0);
});

test('tcp sack: with timestamps, three blocks fit; a data segment keeps within the MSS', () => {
  const o = open({ mss: MSS, sackPermitted: true, tsVal: 100, tsEcr: 0 });
  assert.ok(o.c.snd.tsOk && o.c.snd.sackOk);
  assert.equal(o.c.sndMss, MSS - 12);
  const base = PEER_ISN + 1;
  const una = o.iss + 1;
  const ts = { tsVal: 200, tsEcr: 0 };
  let segs: RawSegment[] = [];
  for (let i = 1; i <= 7; i += 2) segs = o.send(base + i * 100, una, new Uint8Array(100), ts);
  const a = segs.at(-1)!;
  assert.deepEqual((a.options.sack ?? []).map((x) => x - base), [700, 800, 500, 600, 300, 400]);
  assert.equal(a.headerLength, 20 + 12 + 4 + 24, 'timestamps, then 3 blocks: 40 bytes of options');
  // Our data while we hold out-of-order data: each segment's options + payload ≤ the MSS.
  o.c.write(new Uint8Array(8000));
  const out = o.r.collect();
  assert.ok(out.length > 0);
  for (const s of out) assert.ok(s.headerLength - 20 + s.payload.length <= MSS, `${s.headerLength} + ${s.payload.length} ${S}`);
  assert.ok(out.some((s) => s.options.sack !== undefined), 'data segments carry SACK blocks too');
});

test('tcp sack: recovery retransmits only the lost segments (RFC 6675 IsLost, NextSeg)', () => {
  const o = open({ mss: MSS, sackPermitted: true }, { initialWindow: 10 });
  const { c, r } = o;
  const una = o.iss + 1;
  const pseq = PEER_ISN + 1;
  c.write(new Uint8Array(10 * MSS));
  const first = r.collect();
  assert.equal(first.length, 10, S);
  const seg = (i: number): number => una + i * MSS;
  // Segment 0 lost; 1, 2, 3 arrive: SACKed (more than 2·MSS above it: lost, recovery).
  o.send(pseq, una, undefined, { sack: [seg(1), seg(2)] });
  o.send(pseq, una, undefined, { sack: [seg(1), seg(3)] });
  const rx = o.send(pseq, una, undefined, { sack: [seg(1), seg(4)] });
  assert.equal(r.tcp.counters.sackRecoveries, 1, S);
  assert.deepEqual(rx.filter((s) => s.payload.length > 0).map((s) => (s.seq - una) / MSS), [0], 'segment 0 again, nothing else');
  // Segment 5 lost too; 4, 6..9 arrive. (In recovery RACK takes segment 5 for lost as
  // soon as segment 6, sent after it, is SACKed: RFC 8985's reordering window is 0 there.)
  const rx2 = [
    ...o.send(pseq, una, undefined, { sack: [seg(1), seg(5)] }),
    ...o.send(pseq, una, undefined, { sack: [seg(6), seg(7), seg(1), seg(5)] }),
    ...o.send(pseq, una, undefined, { sack: [seg(6), seg(8), seg(1), seg(5)] }),
    ...o.send(pseq, una, undefined, { sack: [seg(6), seg(10), seg(1), seg(5)] }),
  ];
  const again = rx2.filter((s) => s.payload.length > 0 && s.seq !== seg(0));
  assert.deepEqual(again.map((s) => (s.seq - una) / MSS), [5], `only segment 5, once ${S}`);
  // Both arrive: a full ACK ends recovery.
  o.send(pseq, seg(5), undefined, { sack: [seg(6), seg(10)] });
  o.send(pseq, seg(10));
  const k = r.tcp.counters;
  assert.equal(k.sackRetransmittedBytes, 2 * MSS);
  assert.equal(k.retransmittedBytes, 2 * MSS);
  assert.equal(k.rtoTimeouts, 0);
  assert.equal(c.sackedBytes, 0);
  assert.equal(c.writableLength, 0);
});

test('tcp sack: hostile SACK blocks are counted and ignored; nothing throws', () => {
  const o = open({ mss: MSS, sackPermitted: true });
  const { c, r } = o;
  const una = o.iss + 1;
  c.write(new Uint8Array(4 * MSS));
  r.collect();
  const pseq = PEER_ISN + 1;
  o.send(pseq, una, undefined, { sack: [una + 10 * MSS, una + 11 * MSS] }); // beyond SND.MAX
  o.send(pseq, una, undefined, { sack: [una + 2 * MSS, una + MSS] }); // inverted
  o.send(pseq, una, undefined, { sack: [una + MSS, una + MSS] }); // empty
  o.send(pseq, una, undefined, { sack: [una - 5000, una - 1000] }); // below SND.UNA: old, ignored silently
  assert.equal(r.tcp.counters.sackBlocksIgnored, 3, S);
  assert.equal(c.sackedBytes, 0);
  // A SACK option with a bad length (kind 5, length 7): skipped, counted; the segment is fine.
  const before = r.tcp.counters.sackBlocksIgnored;
  const opt = new Uint8Array([1, 5, 7, 0, 0, 0, 0, 0]);
  const rnd = new Random(SEED);
  for (let i = 0; i < 200; i++) {
    // Random garbage in the option space: never throws, never corrupts.
    const b = new Uint8Array(4 * (1 + rnd.int(10)));
    for (let j = 0; j < b.length; j++) b[j] = rnd.int(256);
    if (rnd.chance(0.5)) b[0] = 5;
    injectRawOptions(r, c, pseq, una, b);
  }
  injectRawOptions(r, c, pseq, una, opt);
  assert.ok(r.tcp.counters.sackBlocksIgnored > before);
  assert.equal(r.tcp.counters.drops.internalError, 0, S);
  // The scoreboard holds nothing outside [SND.UNA, SND.MAX).
  assert.ok(c.sackedBytes <= 4 * MSS);
});

/** A bare ACK from the peer whose option bytes are `opts` (a multiple of 4). */
function injectRawOptions(r: Raw, c: TcpConnection, seq: number, ack: number, opts: Uint8Array): void {
  const hl = 20 + opts.length;
  const p = Packet.alloc(r.host.pool, 64)!;
  const at = p.append(hl);
  const b = p.bufs[0]!;
  b.fill(0, at, at + hl);
  writeU16(b, at, 80);
  writeU16(b, at + 2, c.localPort);
  writeU32(b, at + 4, seq >>> 0);
  writeU32(b, at + 8, ack >>> 0);
  b[at + 12] = (hl >>> 2) << 4;
  b[at + 13] = TCP_ACK;
  writeU16(b, at + 14, 65535);
  b.set(opts, at + 20);
  writeTcpChecksum(B_ADDR, A_ADDR, b, at, hl);
  r.tcp.receive(p, B_ADDR, A_ADDR, r.now);
  r.collect();
}

test('tcp sack: the scoreboard merges, trims at SND.UNA, and finds holes and lost bytes', () => {
  const sb = new SackScoreboard(4);
  const una = 0xfffff000; // across the wrap
  const at = (n: number): number => (una + n) >>> 0;
  assert.equal(sb.add(at(3000), at(4000), una, at(10000)), SACK_BLOCK_OK);
  assert.equal(sb.add(at(1000), at(2000), una, at(10000)), SACK_BLOCK_OK);
  assert.equal(sb.add(at(2000), at(3000), una, at(10000)), SACK_BLOCK_OK);
  assert.equal(sb.count, 1, 'merged into [1000, 4000)');
  assert.equal(sb.bytes, 3000);
  assert.equal(sb.add(at(-100), at(0), una, at(10000)), SACK_BLOCK_OLD);
  assert.equal(sb.add(at(9000), at(10001), una, at(10000)), SACK_BLOCK_BAD);
  for (let i = 0; i < 10; i++) sb.add(at(5000 + i * 200), at(5100 + i * 200), una, at(10000));
  assert.equal(sb.count, 4, 'bounded');
  // Ranges [1000, 4000), [5000, 5100), [5200, 5300), [5400, 5500): three discontiguous above 4000.
  assert.equal(sb.lostBoundary(una, 1000), at(5000), 'everything unSACKed below 5000 is lost');
  assert.equal(sb.nextLost(una, una, 1000), una);
  assert.equal(sb.holeEnd, at(1000));
  assert.equal(sb.nextLost(at(1000), una, 1000), at(4000));
  assert.equal(sb.holeEnd, at(5000));
  assert.equal(sb.nextLost(at(5000), una, 1000), -1);
  assert.equal(sb.pipe(una, at(6000), una, 1000), 6000 - 3300 - 2000 + 0, 'unSACKed, not lost: [5100, 5200), [5300, 5400), [5500, 6000)');
  sb.advance(at(1500));
  assert.equal(sb.bytes, 2500 + 300);
  assert.equal(sb.sackedBelow(at(4000)), 2500);
  sb.advance(at(20000));
  assert.equal(sb.count, 0);
  assert.equal(sb.bytes, 0);
});

// ==================================================================== bulk under loss

interface LossRun {
  lostBytes: number;
  rexmitBytes: number;
  virtMs: number;
  recoveries: number;
  rto: number;
}

/** 2 MB from A to B, 10 ms RTT; 5% of A's data segments dropped by the filter (bytes counted). */
function lossyTransfer(opts: TcpOptions, seed: number): LossRun {
  const n = 2 << 20;
  const h = new Pair({ seed, a: opts, b: opts, ab: { delay: 5 }, ba: { delay: 5 } });
  const rnd = new Random(seed ^ 0x5ac);
  let lostBytes = 0;
  h.ab.filter = (b) => {
    const payload = b.length - ((b[12]! >>> 4) << 2);
    if (payload > 0 && rnd.chance(0.05)) {
      lostBytes += payload;
      return true;
    }
    return false;
  };
  const data = patternBytes(n, seed);
  const l = h.b.tcp.listen(5001);
  let d = null as ReturnType<typeof drain> | null;
  let server = null as TcpConnection | null;
  l.onConnection((s) => {
    server = s;
    d = drain(s);
  });
  const c = h.a.tcp.connect({ dst: B_ADDR, dstPort: 5001 });
  c.onConnect = () => pump(c, data);
  h.run(() => d !== null && d.ended(), 3_600_000);
  assert.equal(d!.digest(), sha256(data), `intact ${seedNote(seed)}`);
  const k = h.a.tcp.counters;
  const run = { lostBytes, rexmitBytes: k.retransmittedBytes, virtMs: h.now, recoveries: k.sackRecoveries, rto: k.rtoTimeouts };
  server!.close();
  h.run(() => h.a.tcp.connections + h.b.tcp.connections === 0, 300_000);
  l.close();
  assert.deepEqual(h.leaks(), [], seedNote(seed));
  return run;
}

test('tcp sack: under 5% loss, SACK retransmits about what was lost; less than NewReno without it, and sooner done', () => {
  const fmt = (x: LossRun): string =>
    `lost ${x.lostBytes} B, retransmitted ${x.rexmitBytes} B (${(x.rexmitBytes / x.lostBytes).toFixed(2)}×), ${(x.virtMs / 1000).toFixed(2)} s virtual, sack recoveries ${x.recoveries}, rto ${x.rto}`;
  // Three loss patterns: one run can go either way by a segment or two (a tail loss probe
  // that was not needed is a retransmission too) or a timeout, the sums cannot.
  let excessWith = 0;
  let excessWithout = 0;
  let msWith = 0;
  let msWithout = 0;
  for (const seed of [SEED, (SEED + 1) >>> 0, (SEED + 2) >>> 0]) {
    const withSack = lossyTransfer({}, seed);
    const without = lossyTransfer({ sack: false }, seed);
    const note = `with ${fmt(withSack)}; without ${fmt(without)} ${seedNote(seed)}`;
    console.log(`# sack 5% loss: ${note}`);
    assert.ok(withSack.recoveries > 0, note);
    assert.ok(withSack.rexmitBytes <= 1.1 * withSack.lostBytes + 10 * MSS, note);
    assert.ok(withSack.rexmitBytes >= withSack.lostBytes, `everything lost was sent again: ${note}`);
    msWith += withSack.virtMs;
    msWithout += without.virtMs;
    excessWith += withSack.rexmitBytes - withSack.lostBytes;
    excessWithout += without.rexmitBytes - without.lostBytes;
  }
  // NewReno also resends one segment per partial ACK, but timeouts send it back over data that had arrived.
  assert.ok(excessWith < excessWithout, `needless retransmissions: ${excessWith} B with SACK, ${excessWithout} B without ${S}`);
  // Without SACK a hole is found one partial ACK (one round trip) at a time, or by a
  // timeout. Summed too: one run's timeouts (a lost retransmission at the tail) can cost
  // SACK more than the round trips it saved (seed 2657158124: 7 RTOs against 4).
  assert.ok(msWith < msWithout, `SACK recovers sooner: ${msWith} ms virtual with SACK, ${msWithout} ms without ${S}`);
});

test('tcp sack: a duplicate segment is reported as the first block of the next ACK, once (RFC 2883 D-SACK)', () => {
  const o = open({ mss: MSS, sackPermitted: true });
  const base = PEER_ISN + 1;
  const una = o.iss + 1;
  const rel = (s: RawSegment): number[] => (s.options.sack ?? []).map((x) => x - base);
  o.send(base, una, new Uint8Array(100));
  o.r.advance(500); // the delayed ACK goes
  // The same segment again (its ACK was lost, say): entirely old.
  const [a1] = o.send(base, una, new Uint8Array(100));
  assert.deepEqual(rel(a1!), [0, 100], `the duplicate, reported ${S}`);
  // Part old, part new: the old part is reported, the new part taken.
  const [a2] = o.send(base + 50, una, new Uint8Array(100));
  assert.deepEqual(rel(a2!), [50, 100], S);
  assert.equal(a2!.ack - base, 150);
  // A duplicate while out-of-order data is held: D-SACK first, then the SACK block.
  o.send(base + 300, una, new Uint8Array(100));
  const [a3] = o.send(base + 100, una, new Uint8Array(50));
  assert.deepEqual(rel(a3!), [100, 150, 300, 400], S);
  // Reported once: the next ACK (new data while out-of-order data is held) has the SACK block only.
  const [a4] = o.send(base + 150, una, new Uint8Array(50));
  assert.deepEqual(rel(a4!), [300, 400], S);
  assert.equal(o.r.tcp.counters.dsacksSent, 3);
});
