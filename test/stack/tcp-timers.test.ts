/** Timers and ACK policy, one focused test each, against a scripted peer. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raw, B_ADDR, type RawSegment } from './tcp-harness.js';
import { TCP_ACK, TCP_FIN, TCP_SYN } from '../../src/wire/tcp.js';
import { seedFromEnv } from '../../src/util/random.js';
import type { TcpConnection, TcpError, TcpOptions } from '../../src/stack/tcp/index.js';

const SEED = seedFromEnv();
const S = `(SHOAL_SEED=${SEED})`;
const PEER_ISN = 5_000_000;

interface Open {
  r: Raw;
  c: TcpConnection;
  iss: number;
  /** Peer's next sequence number. */
  pseq: number;
  events: string[];
  ack(n: number, window?: number, payload?: Uint8Array, flags?: number): RawSegment[];
}

function open(options?: TcpOptions, peerWindow = 65535, rttMs = 0): Open {
  const r = new Raw(SEED, options);
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  const events: string[] = [];
  c.onClose = (e?: TcpError) => events.push(e ? `close:${e.code}` : 'close');
  c.onEnd = () => events.push('end');
  const [syn] = r.collect();
  if (rttMs) r.advance(rttMs);
  r.collect();
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN, ack: syn!.seq + 1, flags: TCP_SYN | TCP_ACK, window: peerWindow, urgent: 0, options: { mss: 1460 } });
  r.collect();
  const o: Open = {
    r,
    c,
    iss: syn!.seq,
    pseq: PEER_ISN + 1,
    events,
    ack(n, window = peerWindow, payload = new Uint8Array(0), flags = TCP_ACK) {
      r.send({ srcPort: 80, dstPort: c.localPort, seq: o.pseq, ack: n >>> 0, flags, window, urgent: 0 }, payload);
      o.pseq += payload.length + (flags & TCP_FIN ? 1 : 0);
      return r.collect();
    },
  };
  return o;
}

const gaps = (segs: RawSegment[]): number[] => segs.slice(1).map((s, i) => Math.round(s.at - segs[i]!.at));

test('tcp timers: SYN retransmission from an initial RTO of 1 s, doubling, then ETIMEDOUT', () => {
  const r = new Raw(SEED, { synRetries: 3 });
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  let err: TcpError | undefined;
  c.onClose = (e) => (err = e);
  r.collect();
  const segs = r.advance(60_000);
  assert.deepEqual(segs.map((s) => s.flags), [TCP_SYN, TCP_SYN, TCP_SYN]);
  assert.deepEqual(segs.map((s) => s.at), [1000, 3000, 7000], S);
  assert.equal(err?.code, 'ETIMEDOUT');
  assert.equal(r.now >= 15_000, true);
  assert.equal(r.host.timers.size, 0);
  assert.equal(r.tcp.connections, 0);
});

test('tcp timers: RTO from the measured RTT (min 200 ms), exponential backoff with a cap, ETIMEDOUT after maxRetries', () => {
  const o = open({ maxRetries: 6, maxRto: 1600 }, 65535, 30);
  const { r, c } = o;
  assert.ok(Math.abs(c.srtt - 30) < 1e-9, `srtt ${c.srtt}`);
  // RTO = srtt + 4·rttvar = 30 + 4·15 = 90 → clamped to the 200 ms minimum.
  assert.equal(c.rto, 200);
  c.write(new Uint8Array(100));
  const [first] = r.collect();
  assert.equal(first!.payload.length, 100);
  const segs = r.advance(20_000);
  const rexmits = [first!, ...segs.filter((s) => s.payload.length === 100)];
  assert.deepEqual(gaps(rexmits), [200, 400, 800, 1600, 1600, 1600], S);
  assert.equal(r.tcp.counters.rtoTimeouts, 6);
  assert.deepEqual(o.events, ['close:ETIMEDOUT']);
  assert.equal(r.host.timers.size, 0);
  assert.equal(r.tcp.connections, 0);
  assert.equal(r.host.pool.inUse, 0);
  assert.equal(r.tcp.blocks.outstanding, 0);
});

test("tcp timers: Karn's rule: an ACK for a retransmitted segment gives no RTT sample; backoff ends with new data acked", () => {
  const o = open(undefined, 65535, 10);
  const { r, c } = o;
  const srtt = c.srtt;
  c.write(new Uint8Array(100));
  r.collect();
  r.advance(c.rto); // timeout, retransmission
  assert.equal(r.tcp.counters.rtoTimeouts, 1);
  assert.equal(c.rto, 400);
  r.advance(50);
  o.ack(o.iss + 101);
  assert.equal(c.srtt, srtt, 'no sample from a retransmitted segment');
  assert.equal(c.rto, 200, 'backoff cleared');
  c.write(new Uint8Array(100));
  r.collect();
  r.advance(40);
  o.ack(o.iss + 201);
  assert.ok(c.srtt > srtt, 'a fresh segment gives a sample');
});

test('tcp timers: fast retransmit on the third duplicate ACK, limited transmit before it, NewReno partial ACKs', () => {
  const o = open({ sendBuffer: 1 << 20 });
  const { r, c } = o;
  const una = o.iss + 1;
  c.write(new Uint8Array(20 * 1460));
  const sent = r.collect();
  assert.equal(sent.length, 10, 'initial window: 10 segments');
  // Segment 0 is lost. Duplicate ACKs for it:
  const d1 = o.ack(una);
  assert.equal(d1.length, 1, 'limited transmit: one new segment on the first dupack');
  assert.equal(d1[0]!.seq, una + 10 * 1460);
  const d2 = o.ack(una);
  assert.equal(d2.length, 1, 'and one on the second');
  const d3 = o.ack(una);
  assert.equal(d3[0]!.seq, una, 'fast retransmit of the first segment');
  assert.equal(r.tcp.counters.fastRetransmits, 1);
  assert.equal(r.tcp.counters.rtoTimeouts, 0);
  // Segment 3 was lost too: a partial ACK up to it retransmits it at once.
  const p = o.ack(una + 3 * 1460);
  assert.equal(p[0]!.seq, una + 3 * 1460, 'partial ACK: next hole retransmitted');
  assert.equal(r.tcp.counters.retransmittedSegments, 2);
  // The full ACK ends recovery with cwnd = ssthresh-ish.
  o.ack(una + 12 * 1460);
  assert.ok(c.cwnd <= 8 * 1460, `cwnd ${c.cwnd} after recovery`);
});

test('tcp timers: delayed ACK: one ACK per two full segments, or after 40 ms; at once for out-of-order, gap fill and FIN', () => {
  const o = open();
  const { r } = o;
  const full = new Uint8Array(1460);
  assert.equal(o.ack(o.iss + 1, 65535, full).length, 0, 'first full segment: ACK delayed');
  const a2 = o.ack(o.iss + 1, 65535, full);
  assert.equal(a2.length, 1, 'second full segment: ACK now');
  assert.equal(a2[0]!.ack, PEER_ISN + 1 + 2 * 1460);
  assert.equal(o.ack(o.iss + 1, 65535, new Uint8Array(100)).length, 0);
  const t = r.now;
  const late = r.advance(100);
  assert.equal(late.length, 1);
  assert.equal(late[0]!.at - t, 40, 'delayed ACK timeout');
  // Out of order: skip 1000 bytes.
  const before = o.pseq;
  o.pseq += 1000;
  const ooo = o.ack(o.iss + 1, 65535, new Uint8Array(500));
  assert.equal(ooo.length, 1, 'out-of-order: immediate duplicate ACK');
  assert.equal(ooo[0]!.ack, before);
  o.pseq = before;
  const fill = o.ack(o.iss + 1, 65535, new Uint8Array(1000));
  assert.equal(fill.length, 1, 'gap filled: immediate ACK');
  assert.equal(fill[0]!.ack, before + 1500);
  o.pseq = before + 1500;
  const fin = o.ack(o.iss + 1, 65535, new Uint8Array(10), TCP_ACK | TCP_FIN);
  assert.equal(fin.length, 1, 'FIN: immediate ACK');
  assert.equal(fin[0]!.ack, before + 1511);
});

test('tcp timers: in a bulk transfer the receiver sends one ACK per two full segments', () => {
  const o = open({ recvBuffer: 1 << 20 });
  const full = new Uint8Array(1460);
  let acks = 0;
  for (let i = 0; i < 100; i++) {
    acks += o.ack(o.iss + 1, 65535, full).length;
    o.c.read();
    acks += o.r.collect().length;
  }
  assert.equal(acks, 50);
  assert.equal(o.r.tcp.counters.delayedAcks, 0);
});

test('tcp timers: Nagle holds a small segment while data is unacknowledged; noDelay sends at once', () => {
  const o = open();
  const { r, c } = o;
  c.write(new Uint8Array(10));
  assert.equal(r.collect().length, 1);
  c.write(new Uint8Array(10));
  c.write(new Uint8Array(10));
  assert.equal(r.collect().length, 0, 'held by Nagle');
  const after = o.ack(o.iss + 11);
  assert.equal(after.length, 1);
  assert.equal(after[0]!.payload.length, 20, 'coalesced');
  c.setNoDelay(true);
  c.write(new Uint8Array(10));
  c.write(new Uint8Array(10));
  assert.equal(r.collect().length, 1, 'first small write goes');
  c.write(new Uint8Array(10));
  assert.equal(r.collect().length, 1, 'and the next, without waiting for an ACK');
});

test('tcp timers: zero window: persist probes with backoff, data flows when the window opens', () => {
  const o = open();
  const { r, c } = o;
  c.write(new Uint8Array(2000));
  const segs = r.collect();
  assert.equal(segs.length, 1, 'full segment; the tail waits for Nagle');
  // The peer acks it all but its window is closed now.
  o.ack(o.iss + 1 + 1460, 0);
  const probes = r.advance(3100);
  assert.ok(probes.length >= 3, S);
  for (const p of probes) {
    assert.equal(p.payload.length, 0);
    assert.equal(p.seq, o.iss + 1460, 'probe: seq = SND.UNA - 1');
  }
  assert.deepEqual(gaps(probes).slice(0, 3), [400, 800, 1600]);
  assert.equal(r.tcp.counters.persistProbes, probes.length);
  // The window opens (in answer to a probe).
  const resumed = o.ack(o.iss + 1 + 1460, 65535);
  assert.equal(resumed.length, 1);
  assert.equal(resumed[0]!.payload.length, 540);
});

test('tcp timers: a window update is sent when the application reads (no stuck window)', () => {
  const o = open({ recvBuffer: 8192 });
  const { r, c } = o;
  let last: RawSegment[] = [];
  for (let i = 0; i < 8; i++) last = o.ack(o.iss + 1, 65535, new Uint8Array(1024));
  r.advance(50);
  last = [...last, ...r.collect()];
  const w = last.at(-1)!;
  assert.equal(w.window, 0, 'buffer full: zero window');
  // Reading a little does not announce a tiny window (receiver SWS avoidance).
  c.read(100);
  assert.equal(r.collect().length, 0);
  c.read();
  const upd = r.collect();
  assert.equal(upd.length, 1, 'window update after the read');
  assert.equal(upd[0]!.window << c.windowScales.receive, 8192);
});

test('tcp timers: keepalive probes an idle connection, and gives up with ETIMEDOUT when unanswered', () => {
  const o = open();
  const { r, c } = o;
  c.setKeepAlive(true, 1000, 500, 3);
  const t0 = r.now;
  const p1 = r.advance(1000);
  assert.equal(p1.length, 1);
  assert.equal(p1[0]!.at - t0, 1000);
  assert.equal(p1[0]!.seq, o.iss, 'probe: seq = SND.UNA - 1');
  o.ack(o.iss + 1);
  const t1 = r.now;
  const p2 = r.advance(1000);
  assert.equal(p2.length, 1, 'idle again after the answer');
  assert.equal(p2[0]!.at - t1, 1000);
  const rest = r.advance(5000);
  assert.deepEqual(gaps([p2[0]!, ...rest]), [500, 500, 500]);
  assert.equal(rest.at(-1)!.flags & 0x04, 0x04, 'RST at the end');
  assert.deepEqual(o.events, ['close:ETIMEDOUT']);
  assert.equal(r.tcp.counters.keepaliveProbes, 4);
  assert.equal(r.host.timers.size, 0);
});

test('tcp timers: FIN_WAIT_2 times out after 60 s for a closed socket', () => {
  const o = open();
  const { r, c } = o;
  c.close();
  const [fin] = r.collect();
  o.ack(fin!.seq + 1);
  assert.equal(c.stateName, 'FIN_WAIT_2');
  r.advance(59_999);
  assert.equal(c.stateName, 'FIN_WAIT_2');
  r.advance(1);
  assert.equal(c.stateName, 'CLOSED');
  assert.equal(r.host.timers.size, 0);
  assert.equal(r.tcp.connections, 0);
});

test('tcp timers: the out-of-order queue is bounded; what does not fit is dropped and counted', () => {
  const o = open({ oooMaxSegments: 4 });
  const { r } = o;
  const base = o.pseq;
  for (let i = 1; i <= 6; i++) {
    o.pseq = base + i * 100;
    o.ack(o.iss + 1, 65535, new Uint8Array(100));
  }
  assert.equal(r.tcp.counters.drops.oooQueueFull, 2);
  o.pseq = base;
  const [a] = o.ack(o.iss + 1, 65535, new Uint8Array(100));
  assert.equal(a!.ack, base + 500, 'the held segments joined the stream');
  assert.equal(o.c.readableLength, 500);
});

test('tcp timers: data that meets our zero window is dropped, but its ACK is taken (RFC 9293 §3.10.7.4)', () => {
  const o = open({ recvBuffer: 4096 });
  const { r, c } = o;
  for (let i = 0; i < 4; i++) o.ack(o.iss + 1, 65535, new Uint8Array(1024));
  r.advance(50);
  assert.equal(r.collect().length, 0);
  c.write(new Uint8Array(500));
  const [ours] = r.collect();
  assert.equal(ours!.window, 0, 'our window is closed');
  // The peer sends more data (which does not fit) acking ours.
  const replies = o.ack(o.iss + 501, 65535, new Uint8Array(100));
  assert.equal(replies.length, 1, 'answered with an ACK');
  assert.equal(replies[0]!.ack, o.pseq - 100, 'the data was not taken');
  assert.equal(c.writableLength, 0, 'but its ACK was: our 500 bytes are acknowledged');
  assert.equal(r.tcp.counters.drops.outOfWindow, 1);
});
