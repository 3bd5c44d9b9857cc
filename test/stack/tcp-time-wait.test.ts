/**
 * TIME_WAIT as compact records (time-wait.ts): what the peer sees for 2·MSL after we
 * closed first (RFC 9293 §3.10.7.4, RFC 5961, RFC 7323), and the table's limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raw, B_ADDR } from './tcp-harness.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import { seedFromEnv } from '../../src/util/random.js';
import type { TcpConnection, TcpOptions } from '../../src/stack/tcp/index.js';

const SEED = seedFromEnv();
const S = `(SHOAL_SEED=${SEED})`;
const PEER_ISN = 5_000_000;
const PEER_TS = 777_000;

/** We connect (with timestamps), we close first, the peer ACKs our FIN and sends its own: TIME_WAIT. */
function toTimeWait(r: Raw, port = 80, expected = 'TIME_WAIT'): { c: TcpConnection; iss: number } {
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: port });
  const [syn] = r.collect();
  r.send({ srcPort: port, dstPort: c.localPort, seq: PEER_ISN, ack: syn!.seq + 1, flags: TCP_SYN | TCP_ACK, window: 65535, urgent: 0, options: { mss: 1460, tsVal: PEER_TS, tsEcr: syn!.options.tsVal! } });
  c.close();
  const [fin] = r.collect().filter((s) => s.flags & TCP_FIN);
  const iss = syn!.seq;
  r.send({ srcPort: port, dstPort: c.localPort, seq: PEER_ISN + 1, ack: iss + 2, flags: TCP_ACK | TCP_FIN, window: 65535, urgent: 0, options: { tsVal: PEER_TS + 10, tsEcr: fin!.options.tsVal! } });
  assert.equal(c.stateName, expected, S);
  const [ack] = r.take();
  assert.equal(ack!.flags, TCP_ACK, 'the FIN is acked');
  assert.equal(ack!.ack, PEER_ISN + 2);
  return { c, iss };
}

test('TIME_WAIT: the connection becomes a record; a retransmitted FIN gets the same ACK with fresh timestamps', () => {
  const r = new Raw(SEED, { msl: 1000 });
  const { c, iss } = toTimeWait(r);
  assert.equal(r.tcp.timeWait.size, 1);
  assert.equal(r.tcp.connections, 1, 'a TIME_WAIT still counts');
  assert.equal(r.tcp.counters.states.TIME_WAIT, 1);
  assert.equal(r.host.pool.inUse, 0, 'no frame held');
  r.advance(700);
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 1, ack: iss + 2, flags: TCP_ACK | TCP_FIN, window: 65535, urgent: 0, options: { tsVal: PEER_TS + 20, tsEcr: 0 } });
  const [again] = r.take();
  assert.equal(again!.flags, TCP_ACK);
  assert.equal(again!.seq, iss + 2);
  assert.equal(again!.ack, PEER_ISN + 2);
  assert.equal(again!.options.tsEcr, PEER_TS + 10, 'TS.Recent echoed');
  assert.equal(again!.options.tsVal, c.snd.tsNow(r.now), 'our clock, as the connection had it');
  // The FIN restarted 2·MSL: still here 1999 ms later, gone at 2000.
  r.advance(1999);
  assert.equal(c.stateName, 'TIME_WAIT');
  r.advance(1);
  assert.equal(c.stateName, 'CLOSED');
  assert.equal(r.tcp.connections, 0);
  assert.equal(r.tcp.counters.states.TIME_WAIT, 0);
  assert.equal(r.host.timers.size, 0);
});

test('TIME_WAIT: PAWS, RFC 5961 RST/SYN/ACK checks, and an exact RST ends it', () => {
  const r = new Raw(SEED);
  const { c, iss } = toTimeWait(r);
  const port = c.localPort;
  const seg = (seq: number, ack: number, flags: number, tsVal = PEER_TS + 30) => {
    r.send({ srcPort: 80, dstPort: port, seq, ack, flags, window: 65535, urgent: 0, options: { tsVal, tsEcr: 0 } });
    return r.take();
  };
  // An old TSval: dropped by PAWS and answered with an ACK...
  assert.equal(seg(PEER_ISN + 2, iss + 2, TCP_ACK, PEER_TS - 1).length, 1);
  assert.equal(r.tcp.counters.pawsDrops, 1);
  // ... but not again within 500 ms: ACKs to invalid segments are limited per record (as Linux).
  assert.equal(seg(PEER_ISN + 2, iss + 2, TCP_ACK, PEER_TS - 1).length, 0);
  assert.equal(r.tcp.counters.challengeAcksLimited, 1);
  r.advance(600);
  // An ACK for data never sent: answered with an ACK (RFC 5961 §5).
  assert.equal(seg(PEER_ISN + 2, iss + 100, TCP_ACK).length, 1);
  assert.equal(r.tcp.counters.drops.badAck, 1);
  r.advance(600);
  // An in-window RST that is not exact: a challenge ACK, and the record stays.
  const [challenge] = seg(PEER_ISN + 10, 0, TCP_RST);
  assert.equal(challenge!.flags, TCP_ACK);
  assert.equal(r.tcp.counters.challengeAcks, 1);
  assert.equal(c.stateName, 'TIME_WAIT');
  // A second challenge within 500 ms is not sent (RFC 5961 §7).
  assert.equal(seg(PEER_ISN + 11, 0, TCP_RST).length, 0);
  assert.equal(r.tcp.counters.challengeAcksLimited, 2);
  // A SYN at or below RCV.NXT may not start a new incarnation: challenge ACK later on.
  r.advance(600);
  assert.equal(seg(PEER_ISN + 2, 0, TCP_SYN)[0]!.flags, TCP_ACK);
  // The exact RST ends it.
  assert.equal(seg(PEER_ISN + 2, 0, TCP_RST).length, 0);
  assert.equal(c.stateName, 'CLOSED');
  assert.equal(r.tcp.timeWait.size, 0);
  assert.equal(r.tcp.counters.resetsReceived, 1);
  assert.equal(r.host.timers.size, 0);
  // And its port is free: a segment for the 4-tuple now gets a RST.
  const [rst] = seg(PEER_ISN + 2, iss + 2, TCP_ACK);
  assert.equal(rst!.flags, TCP_RST);
});

test('TIME_WAIT: past maxTimeWait a connection closes at once, still acking the FIN, and says so in a counter', () => {
  const options: TcpOptions = { maxTimeWait: 1 };
  const r = new Raw(SEED, options);
  const first = toTimeWait(r, 80);
  // No room: closed without TIME_WAIT (toTimeWait checks the peer's FIN is acked all the same).
  const second = toTimeWait(r, 81, 'CLOSED');
  assert.equal(first.c.stateName, 'TIME_WAIT');
  assert.equal(second.c.stateName, 'CLOSED');
  assert.equal(r.tcp.counters.drops.timeWaitFull, 1);
  assert.equal(r.tcp.timeWait.size, 1);
  assert.equal(r.tcp.connections, 1);
  assert.equal(r.tcp.counters.states.TIME_WAIT, 1);
});

test('TIME_WAIT: abort() on a connection in TIME_WAIT ends its record; stack close ends them all', () => {
  const r = new Raw(SEED);
  const a = toTimeWait(r, 80);
  toTimeWait(r, 81);
  assert.equal(r.tcp.timeWait.size, 2);
  a.c.abort();
  assert.equal(a.c.stateName, 'CLOSED');
  assert.equal(r.tcp.timeWait.size, 1);
  assert.equal(r.tcp.counters.states.TIME_WAIT, 1);
  assert.deepEqual(r.take(), [], 'no RST from TIME_WAIT');
  r.tcp.clear();
  assert.equal(r.tcp.timeWait.size, 0);
  assert.equal(r.tcp.connections, 0);
  assert.equal(r.host.timers.size, 0);
});

test('TIME_WAIT: a SYN takes over the 4-tuple only past RCV.NXT or TS.Recent, unrejected by PAWS, and only for a listener', () => {
  const r = new Raw(SEED);
  const { c } = toTimeWait(r, 80);
  const port = c.localPort;
  const syn = (seq: number, tsVal: number) => {
    r.send({ srcPort: 80, dstPort: port, seq, ack: 0, flags: TCP_SYN, window: 65535, urgent: 0, options: { mss: 1460, tsVal, tsEcr: 0 } });
    return r.take();
  };
  // Higher sequence number, but no listener on our port (we were the client): the record stays.
  const [answer] = syn(PEER_ISN + 100_000, PEER_TS + 50);
  assert.equal(answer!.flags, TCP_ACK, 'a challenge ACK, not a RST');
  assert.equal(r.tcp.timeWait.size, 1);
  assert.equal(c.stateName, 'TIME_WAIT');
  // With a listener: an old TSval is rejected by PAWS even with a higher sequence number...
  r.tcp.listen(port);
  r.advance(600);
  syn(PEER_ISN + 100_000, PEER_TS - 5);
  assert.equal(r.tcp.timeWait.size, 1, 'PAWS kept it');
  // ... a newer TSval with a lower sequence number takes it (RFC 6191).
  const [synack] = syn(PEER_ISN - 100, PEER_TS + 60);
  assert.equal(synack!.flags, TCP_SYN | TCP_ACK);
  assert.equal(r.tcp.timeWait.size, 0);
  assert.equal(c.stateName, 'CLOSED');
});

test('TIME_WAIT: data left unread by a half-closed connection is freed when the stack is torn down', () => {
  const r = new Raw(SEED);
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  const [syn] = r.collect();
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN, ack: syn!.seq + 1, flags: TCP_SYN | TCP_ACK, window: 65535, urgent: 0, options: { mss: 1460 } });
  c.shutdown(); // half-close: we still read
  r.collect();
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 1, ack: syn!.seq + 2, flags: TCP_ACK | TCP_FIN, window: 65535, urgent: 0 }, new Uint8Array(1000).fill(9));
  assert.equal(c.stateName, 'TIME_WAIT');
  assert.equal(c.readableLength, 1000, 'not read yet');
  assert.ok(r.host.pool.inUse > 0);
  r.tcp.clear();
  assert.equal(r.host.pool.inUse, 0, 'the unread frames went back');
});
