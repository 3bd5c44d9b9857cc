/**
 * Receive memory, segment by segment (a scripted peer against one Tcp): what a
 * connection holds is charged by its truesize (a 1-byte segment in a 2 KB frame costs
 * the frame), against a budget of twice its receive buffer (Linux doubles SO_RCVBUF);
 * over it, what wastes frames is collapsed into compact memory (tcp_collapse), then the
 * out-of-order queue is pruned from its far end (tcp_prune_ofo_queue), and only then is
 * the new segment dropped. While the stack's receive pool is down to its reserve, what
 * arrives is copied out of its frame before it is kept. And segments outside the window
 * are answered at most once per 500 ms (tcp_invalid_ratelimit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A_ADDR, B_ADDR, Raw } from './tcp-harness.js';
import { Packet } from '../../src/packet/packet.js';
import { emitTcp, tcpHeaderLength, writeTcpChecksum } from '../../src/wire/tcp.js';
import type { TcpConnection } from '../../src/stack/tcp/index.js';
import { seedFromEnv } from '../../src/util/random.js';
import { TCP_ACK, TCP_SYN } from '../../src/wire/tcp.js';
import { seedNote } from '../support/require.js';

const SEED = seedFromEnv();
const S = seedNote(SEED);
const PEER_ISN = 1_000_000;
const FRAME = 2048;

interface Opened {
  raw: Raw;
  conn: TcpConnection;
  /** Our (the peer's) next sequence number and what we acknowledge. */
  seq: number;
  ack: number;
}

/** A connection to a listener on port 80 whose application never reads; SACK offered. */
function open(options: { recvBuffer?: number; oooMaxSegments?: number } = {}): Opened {
  const raw = new Raw(SEED, { recvBuffer: options.recvBuffer ?? 64 * 1024, recvBufferMax: options.recvBuffer ?? 64 * 1024, oooMaxSegments: options.oooMaxSegments, delayedAck: 0 });
  let conn: TcpConnection | null = null;
  raw.tcp.listen(80).onConnection((c) => (conn = c));
  raw.send({ srcPort: 4000, dstPort: 80, seq: PEER_ISN, ack: 0, flags: TCP_SYN, window: 65535, urgent: 0, options: { mss: 1460, sackPermitted: true, wscale: 7 } });
  const synAck = raw.take().find((s) => s.flags & TCP_SYN)!;
  raw.send({ srcPort: 4000, dstPort: 80, seq: PEER_ISN + 1, ack: synAck.seq + 1, flags: TCP_ACK, window: 512, urgent: 0 });
  raw.take();
  assert.ok(conn !== null, 'the connection was accepted');
  return { raw, conn: conn!, seq: PEER_ISN + 1, ack: (synAck.seq + 1) >>> 0 };
}

function sendByte(o: Opened, offset: number, value = offset & 0xff): void {
  o.raw.send({ srcPort: 4000, dstPort: 80, seq: (o.seq + offset) >>> 0, ack: o.ack, flags: TCP_ACK, window: 512, urgent: 0 }, Uint8Array.of(value));
}

test('receive memory: 1-byte segments to a reader that never reads are collapsed at the budget; the data stays whole', () => {
  const o = open();
  const { raw, conn } = o;
  const n = 20_000;
  let maxOver = -Infinity;
  for (let i = 0; i < n; i++) {
    sendByte(o, i);
    maxOver = Math.max(maxOver, conn.receiveCharge - conn.receiveBudget);
  }
  const c = raw.tcp.counters;
  assert.ok(maxOver <= FRAME, `the charge never passed the budget by more than a frame: ${maxOver} ${S}`);
  assert.ok(c.collapsedSegments > n / 2, `collapsed ${c.collapsedSegments} ${S}`);
  // Everything inside the window was taken: 20,000 bytes are under 64 KiB.
  assert.equal(conn.readableLength, n, S);
  assert.equal(c.drops.rcvBufferFull, 0, S);
  // Collapsed: the frames went back; a byte costs about a byte.
  assert.ok(raw.host.pool.inUse < conn.receiveBudget / FRAME + 2, `frames held ${raw.host.pool.inUse} ${S}`);
  const data = conn.read()!;
  assert.equal(data.length, n);
  for (let i = 0; i < n; i++) if (data[i] !== (i & 0xff)) assert.fail(`byte ${i} is ${data[i]} ${S}`);
  assert.equal(conn.receiveCharge, 0);
  assert.equal(raw.tcp.env.rxMemory.charged, 0, 'the stack total follows the connections');
});

test('receive memory: the window offers what the budget holds at its real cost', () => {
  // Out-of-order 1-byte segments (nothing deliverable, nothing to read): each costs a
  // frame until collapsed. The right edge never moves back (RFC 9293 §3.8.6.2.1), and it
  // moves forward only as far as half the budget left: two bytes of memory per byte.
  const o = open({ recvBuffer: 256 * 1024 });
  const { raw, conn } = o;
  let edge = 65535; // what the SYN-ACK offered
  let held = 0;
  for (let i = 0; i < 3000; i++) {
    sendByte(o, 1 + 2 * i);
    for (const a of raw.take()) {
      assert.equal(a.ack, o.seq >>> 0, 'nothing was delivered');
      const e = a.window << conn.windowScales.receive;
      assert.ok(e + (1 << conn.windowScales.receive) > edge, `the edge moved back: ${e} < ${edge} ${S}`);
      if (e >= edge + (1 << conn.windowScales.receive)) {
        const room = (conn.receiveBudget - conn.receiveCharge) / 2;
        assert.ok(e <= room + (1 << conn.windowScales.receive), `a new edge ${e} beyond what the budget left holds (${room}) ${S}`);
        held++;
      }
      edge = e;
    }
    assert.ok(conn.receiveCharge <= conn.receiveBudget + FRAME, S);
  }
  assert.ok(held > 0, 'the window was advertised');
});

test('receive memory: out-of-order segments are collapsed, then pruned from the far end; SACK no longer reports what was pruned', () => {
  // A small budget (2 × 16 KiB) and room for many segments: the out-of-order queue fills with
  // 1-byte segments spaced apart (nothing to join), each a compact copy of ~257 bytes once
  // collapsed, until the budget is spent; then a segment nearer RCV.NXT prunes the farthest.
  const o = open({ recvBuffer: 16 * 1024, oooMaxSegments: 100_000 });
  const { raw, conn } = o;
  for (let i = 0; i < 400; i++) sendByte(o, 1000 + 2 * i);
  const c = raw.tcp.counters;
  assert.ok(c.collapsedSegments > 0, S);
  assert.ok(conn.receiveCharge <= conn.receiveBudget + FRAME, `charge ${conn.receiveCharge} budget ${conn.receiveBudget} ${S}`);
  const prunedBefore = c.oooPruned;
  // New data nearer the left edge buys room from the far end.
  for (let i = 0; i < 200; i++) sendByte(o, 1 + 2 * i);
  assert.ok(c.oooPruned > prunedBefore, `pruned ${c.oooPruned} ${S}`);
  assert.ok(conn.receiveCharge <= conn.receiveBudget + FRAME, S);
  // Fill the hole at RCV.NXT and everything up to the first gap is delivered intact.
  sendByte(o, 0);
  const acks = raw.take();
  const last = acks[acks.length - 1]!;
  assert.equal(last.ack, (o.seq + 2) >>> 0, `RCV.NXT past the filled hole and the byte after it ${S}`);
  assert.equal(conn.readableLength, 2);
  // What SACK reports lies at or below what is held (nothing pruned is reported).
  // Every SACK block reported names data still held out of order (what was pruned is not reported).
  const sack = last.options.sack ?? [];
  for (let k = 0; k + 1 < sack.length; k += 2) {
    assert.ok(conn.rx.ooo.rangeAround(sack[k]!) && conn.rx.ooo.rangeStart === sack[k] && conn.rx.ooo.rangeEnd === sack[k + 1], `SACK block ${sack[k]}-${sack[k + 1]} is held ${S}`);
  }
});

test('receive memory: a few KB in a 64 KB receive frame, over a small budget, is copied out of it rather than dropped', () => {
  const o = open({ recvBuffer: 16 * 1024 });
  const { raw, conn } = o;
  sendByte(o, 0); // something already held, unread
  // 3,000 bytes in order, in a large frame (as a TAP's GSO frames come): 65 KB of truesize.
  const h = { srcPort: 4000, dstPort: 80, seq: (o.seq + 1) >>> 0, ack: o.ack, flags: TCP_ACK, window: 512, urgent: 0 };
  const hl = tcpHeaderLength(h);
  const p = Packet.alloc(raw.host.largePool, 0)!;
  const at = p.append(hl + 3000);
  emitTcp(h, p.bufs[0]!, at);
  p.bufs[0]!.fill(7, at + hl, at + hl + 3000);
  writeTcpChecksum(B_ADDR, A_ADDR, p.bufs[0]!, at, hl + 3000);
  assert.ok(p.truesize > conn.receiveBudget, 'the frame alone costs more than the budget');
  raw.tcp.receive(p, B_ADDR, A_ADDR, raw.now);
  assert.equal(conn.readableLength, 3001, S);
  assert.equal(raw.tcp.counters.drops.rcvBufferFull, 0, S);
  assert.equal(raw.host.largePool.inUse, 0, 'the large frame went back');
  assert.ok(conn.receiveCharge <= conn.receiveBudget, S);
});

test('receive memory: a pool down to its reserve makes arriving data be copied out of its frame', () => {
  const o = open();
  const { raw, conn } = o;
  const pool = raw.host.pool;
  // The device keeps all but 10 free frames for its ring: the pool is low from the start.
  pool.reserve = pool.available + 10;
  const before = pool.inUse;
  for (let i = 0; i < 100; i++) sendByte(o, i);
  assert.equal(pool.inUse, before, `no frame kept ${S}`);
  assert.ok(raw.tcp.counters.pressureCopies >= 100, S);
  assert.equal(conn.readableLength, 100);
  pool.reserve = 0;
});

test('receive memory: a connection over the stack limit drops new data (counted) but one holding nothing still takes it', () => {
  const o = open();
  const { raw, conn } = o;
  const mem = raw.tcp.env.rxMemory;
  // Most of the limit is charged elsewhere (other connections).
  const other = mem.limit - 100;
  mem.charged += other;
  sendByte(o, 0); // holds nothing: taken
  assert.equal(conn.readableLength, 1);
  for (let i = 1; i < 50; i++) sendByte(o, i);
  assert.ok(raw.tcp.counters.drops.memoryLimit > 0, S);
  assert.ok(mem.charged <= mem.limit + FRAME, `stack charge ${mem.charged - other} over what the others hold ${S}`);
  mem.charged -= other;
  // The peer sends again what was dropped, and it goes in once memory is free.
  const had = conn.readableLength;
  conn.read();
  for (let i = had; i < 50; i++) sendByte(o, i);
  assert.equal(conn.readableLength, 50 - had, S);
});

test('out-of-window segments are answered at most once per 500 ms; probes and old data always', () => {
  const o = open();
  const { raw } = o;
  const before = raw.tcp.counters.outOfWindowAcksLimited;
  // 100 segments far beyond the window, 1 ms apart: two ACKs (at 0 and 500 ms... the first
  // within 100 ms, none after), not 100.
  let acks = 0;
  for (let i = 0; i < 100; i++) {
    o.raw.send({ srcPort: 4000, dstPort: 80, seq: (o.seq + 10_000_000 + i) >>> 0, ack: o.ack, flags: TCP_ACK, window: 512, urgent: 0 }, Uint8Array.of(1));
    acks += raw.advance(1).length + raw.take().length;
  }
  assert.ok(acks >= 1 && acks <= 1, `ACKs for 100 out-of-window segments in 100 ms: ${acks} ${S}`);
  assert.equal(raw.tcp.counters.outOfWindowAcksLimited - before, 99, S);
  // Spread over 10 s: one every 500 ms at most.
  acks = 0;
  for (let i = 0; i < 100; i++) {
    o.raw.send({ srcPort: 4000, dstPort: 80, seq: (o.seq + 10_000_000 + i) >>> 0, ack: o.ack, flags: TCP_ACK, window: 512, urgent: 0 }, Uint8Array.of(1));
    acks += raw.take().length;
    raw.advance(100);
  }
  assert.ok(acks >= 18 && acks <= 21, `ACKs for 100 segments 100 ms apart: ${acks} ${S}`);
  // A keepalive probe (one below RCV.NXT) and old data are answered every time.
  for (let i = 0; i < 5; i++) {
    o.raw.send({ srcPort: 4000, dstPort: 80, seq: (o.seq - 1) >>> 0, ack: o.ack, flags: TCP_ACK, window: 512, urgent: 0 });
    assert.equal(raw.take().length, 1, `keepalive probe ${i} answered ${S}`);
  }
  sendByte(o, 0);
  raw.take();
  for (let i = 0; i < 5; i++) {
    sendByte(o, 0); // a retransmission of what we have: ACKed with its D-SACK
    const a = raw.take();
    assert.equal(a.length, 1, `old data ${i} answered ${S}`);
  }
});
