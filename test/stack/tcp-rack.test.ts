/**
 * Loss detection beyond duplicate ACKs, as Linux does it by default, in virtual time on
 * a 20 ms path:
 * - spurious retransmissions found by the timestamp echo and undone (Eifel, RFC 3522 /
 *   RFC 4015), and the reordering they show raising the duplicate threshold;
 * - RACK (RFC 8985 §6): a segment is lost when one sent after it arrived and a round trip
 *   and a reordering window have passed, however few duplicate ACKs came;
 * - the tail loss probe (RFC 8985 §7): a lost tail is found after 2·SRTT, not an RTO;
 * - TSO frames sized to the rate and the path (Linux's tcp_tso_autosize).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raw, B_ADDR, type RawSegment } from './tcp-harness.js';
import { TCP_ACK, TCP_SYN } from '../../src/wire/tcp.js';
import { seedFromEnv } from '../../src/util/random.js';
import { seedNote } from '../support/require.js';
import type { TcpConnection } from '../../src/stack/tcp/index.js';
import type { DeviceFeatures } from '../../src/link/device.js';

const SEED = seedFromEnv();
const S = seedNote(SEED);
const PEER_ISN = 9_000_000;
const MSS = 1460;
/** Payload per segment with timestamps. */
const SMSS = MSS - 12;
const RTT = 20;

interface Path {
  r: Raw;
  c: TcpConnection;
  una: number;
  /** Our TSval in the handshake's ACK (what the peer echoes until data fills its window in order). */
  tsAck: number;
  seg(i: number): number;
  /** The peer acknowledges `ack` with SACK blocks and echoes `tsEcr`; returns what we sent in answer. */
  ack(ack: number, sack: number[], tsEcr: number): RawSegment[];
}

/** A connection whose handshake took RTT ms (so SRTT = min RTT = RTT), with SACK and timestamps. */
function open(features?: Partial<DeviceFeatures>, rtt = RTT): Path {
  const r = new Raw(SEED, { initialWindow: 10 }, features);
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  const [syn] = r.collect();
  r.advance(rtt);
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN, ack: syn!.seq + 1, flags: TCP_SYN | TCP_ACK, window: 65535, urgent: 0, options: { mss: MSS, sackPermitted: true, tsVal: 1000, tsEcr: syn!.options.tsVal! } });
  const [hsAck] = r.collect();
  assert.ok(c.snd.sackOk && c.snd.tsOk, S);
  const una = syn!.seq + 1;
  return {
    r,
    c,
    una,
    tsAck: hsAck!.options.tsVal!,
    seg: (i) => (una + i * SMSS) >>> 0,
    ack(ack, sack, tsEcr) {
      r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 1, ack: ack >>> 0, flags: TCP_ACK, window: 65535, urgent: 0, options: { tsVal: 2000, tsEcr, ...(sack.length > 0 ? { sack } : {}) } });
      return r.collect();
    },
  };
}

const data = (segs: RawSegment[]): RawSegment[] => segs.filter((s) => s.payload.length > 0);

/** Ten segments out; segment 0 late, 1..3 arrive: three SACKs start a recovery that sends segment 0 again. */
function reorderedHead(): { p: Path; ts0: number; tsRetransmit: number; cwndBefore: number } {
  const p = open();
  p.c.write(new Uint8Array(10 * SMSS));
  const out = data(p.r.collect());
  assert.equal(out.length, 10, S);
  const ts0 = out[0]!.options.tsVal!;
  const cwndBefore = p.c.cwnd;
  p.r.advance(RTT);
  p.ack(p.una, [p.seg(1), p.seg(2)], p.tsAck);
  p.ack(p.una, [p.seg(1), p.seg(3)], p.tsAck);
  const rx = data(p.ack(p.una, [p.seg(1), p.seg(4)], p.tsAck));
  assert.equal(p.r.tcp.counters.sackRecoveries, 1, S);
  assert.equal(rx[0]?.seq, p.una, `segment 0 sent again ${S}`);
  assert.ok(p.c.recovering && p.c.cwnd < cwndBefore, `the window came down ${S}`);
  return { p, ts0, tsRetransmit: rx[0]!.options.tsVal!, cwndBefore };
}

test('tcp rack: the ACK of a reordered segment echoes the original\'s timestamp: the recovery is undone (RFC 3522, RFC 4015)', () => {
  const { p, ts0, tsRetransmit, cwndBefore } = reorderedHead();
  assert.ok(ts0 < tsRetransmit, S);
  // The original segment 0 arrives (late): the peer's ACK echoes its TSval, older than the retransmission's.
  p.ack(p.seg(4), [], ts0);
  const k = p.r.tcp.counters;
  assert.equal(k.spuriousRecoveries, 1, S);
  assert.equal(p.c.recovering, false, 'the recovery is over');
  assert.ok(p.c.cwnd >= cwndBefore, `cwnd back (${p.c.cwnd} ≥ ${cwndBefore}) ${S}`);
  assert.ok(p.c.snd.rec.reordering >= 4, `the duplicate threshold follows the reordering seen (${p.c.snd.rec.reordering}) ${S}`);
});

test('tcp rack: the ACK echoes the retransmission\'s timestamp: the loss was real, nothing is undone', () => {
  const { p, tsRetransmit, cwndBefore } = reorderedHead();
  p.ack(p.seg(4), [], tsRetransmit);
  assert.equal(p.r.tcp.counters.spuriousRecoveries, 0, S);
  assert.ok(p.c.cwnd < cwndBefore, S);
  assert.equal(p.c.snd.rec.reordering, 3, 'no reordering seen');
});

test('tcp rack: one SACK for the last segment: the rest is lost once RTT + reordering window have passed, with no RTO (RFC 8985 §6)', () => {
  const p = open();
  p.c.write(new Uint8Array(10 * SMSS));
  const sentAt = p.r.now;
  assert.equal(data(p.r.collect()).length, 10, S);
  p.r.advance(RTT);
  // Segments 0..8 lost; 9 arrives: one duplicate ACK, far from three.
  assert.deepEqual(data(p.ack(p.una, [p.seg(9), p.seg(10)], p.tsAck)), [], 'not yet: it may be reordering');
  // RACK.rtt = 20 ms; the reordering window is min RTT / 4 = 5 ms: lost at sentAt + 25.
  const rx = data(p.r.advance(10));
  assert.ok(rx.length > 0, `retransmitted by RACK's timer ${S}`);
  assert.equal(rx[0]!.seq, p.una, S);
  assert.equal(rx[0]!.at, sentAt + RTT + RTT / 4, `at send time + RACK.rtt + reo_wnd ${S}`);
  const k = p.r.tcp.counters;
  assert.equal(k.sackRecoveries, 1, S);
  assert.equal(k.rtoTimeouts, 0, S);
});

test('tcp rack: a lost tail is probed with new data after 2·SRTT; its SACK shows the rest lost (RFC 8985 §7)', () => {
  const p = open();
  p.c.write(new Uint8Array(12 * SMSS)); // ten go (initial window), two wait
  const sentAt = p.r.now;
  assert.equal(data(p.r.collect()).length, 10, S);
  // Nothing comes back. PTO = 2·SRTT = 40 ms, well before the RTO (200 ms).
  const probe = data(p.r.advance(2 * RTT));
  assert.equal(probe.length, 1, S);
  assert.equal(probe[0]!.seq, p.seg(10), `one segment of new data ${S}`);
  assert.equal(probe[0]!.at, sentAt + 2 * RTT, S);
  assert.equal(p.r.tcp.counters.lossProbes, 1, S);
  // Its SACK: everything sent before it is lost (sent 40 ms before, more than RACK.rtt + reo_wnd).
  p.r.advance(RTT);
  const rx = data(p.ack(p.una, [p.seg(10), p.seg(11)], p.tsAck));
  assert.equal(rx[0]?.seq, p.una, `segment 0 again at once ${S}`);
  assert.equal(p.r.tcp.counters.rtoTimeouts, 0, S);
});

test('tcp rack: with nothing new to send, the probe is the last segment again', () => {
  const p = open();
  p.c.write(new Uint8Array(4 * SMSS));
  assert.equal(data(p.r.collect()).length, 4, S);
  const probe = data(p.r.advance(2 * RTT));
  assert.equal(probe.length, 1, S);
  assert.equal(probe[0]!.seq, p.seg(3), S);
  assert.equal(probe[0]!.payload.length, SMSS, S);
  assert.deepEqual(data(p.r.advance(2 * RTT)), [], 'one probe, then only the RTO');
  assert.equal(p.r.tcp.counters.lossProbes, 1, S);
  // Its ACK covers everything: the tail was only slow, or its ACK lost.
  p.ack(p.seg(4), [], p.tsAck);
  assert.equal(p.c.writableLength, 0);
  assert.equal(p.r.tcp.counters.rtoTimeouts, 0, S);
});

test('tcp rack: TSO frames: 64 KB on a sub-millisecond path, two segments at 20 ms and ten segments of window (tcp_tso_autosize)', () => {
  const frames = (rtt: number): number[] => {
    const p = open({ tso: true, maxTsoSize: 65535 }, rtt);
    p.c.write(new Uint8Array(10 * SMSS));
    return data(p.r.collect()).map((s) => s.payload.length / SMSS);
  };
  assert.deepEqual(frames(0), [10], 'one frame: the whole window');
  // 2·cwnd/SRTT = 2 · 14,480 B / 20 ms ≈ 1.4 KB a millisecond: below two segments, so two.
  assert.deepEqual(frames(RTT), [2, 2, 2, 2, 2]);
});
