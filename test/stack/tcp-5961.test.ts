/**
 * RFC 5961 blind in-window attacks on an established connection: RST, SYN and data
 * injection, and the challenge-ACK rate limit (§7).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raw, B_ADDR } from './tcp-harness.js';
import { TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import { seedFromEnv } from '../../src/util/random.js';
import { seedNote } from '../support/require.js';
import type { TcpConnection } from '../../src/stack/tcp/index.js';

const SEED = seedFromEnv();
const S = seedNote(SEED);
const PEER_ISN = 1_000_000;

/** An established connection to the scripted peer; returns it and our ISS. */
function established(r: Raw): { c: TcpConnection; iss: number } {
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  const [syn] = r.collect();
  r.send({ srcPort: 80, dstPort: syn!.srcPort, seq: PEER_ISN, ack: syn!.seq + 1, flags: TCP_SYN | TCP_ACK, window: 65535, urgent: 0, options: { mss: 1460 } });
  r.take();
  assert.equal(c.stateName, 'ESTABLISHED', S);
  return { c, iss: syn!.seq };
}

test('RFC 5961 §3/§4/§7: a flood of blind in-window RSTs and SYNs gets one challenge ACK per 500 ms, and the connection lives', () => {
  const r = new Raw(SEED);
  const { c } = established(r);
  const port = c.localPort;
  for (let i = 0; i < 1000; i++) {
    const blind = PEER_ISN + 1 + 1 + (i % 5000);
    r.send({ srcPort: 80, dstPort: port, seq: blind, ack: 0, flags: i % 2 ? TCP_RST : TCP_SYN, window: 0, urgent: 0 });
  }
  assert.equal(c.stateName, 'ESTABLISHED', `survives ${S}`);
  assert.equal(r.tcp.counters.challengeAcks, 1, S);
  assert.equal(r.tcp.counters.challengeAcksLimited, 999, S);
  assert.equal(r.take().filter((x) => x.flags === TCP_ACK).length, 1, 'one ACK on the wire');
  // After the interval, the next one is answered again.
  r.clock.advanceBy(600);
  r.send({ srcPort: 80, dstPort: port, seq: PEER_ISN + 7, ack: 0, flags: TCP_RST, window: 0, urgent: 0 });
  assert.equal(r.tcp.counters.challengeAcks, 2, S);
  // The exact sequence number still resets (the peer's real RST).
  r.send({ srcPort: 80, dstPort: port, seq: PEER_ISN + 1, ack: 0, flags: TCP_RST, window: 0, urgent: 0 });
  assert.equal(c.stateName, 'CLOSED', S);
});

test('RFC 5961 §5: blind data with an unacceptable ACK is not delivered', () => {
  const r = new Raw(SEED);
  const { c, iss } = established(r);
  const port = c.localPort;
  let delivered = 0;
  c.onReadable = () => {
    for (let d = c.read(); d !== null; d = c.read()) delivered += d.length;
  };
  const payload = new Uint8Array(100).fill(0x41);
  // An ACK for data we never sent, and one older than the window before SND.UNA.
  r.send({ srcPort: 80, dstPort: port, seq: PEER_ISN + 1, ack: iss + 1 + 1_000_000, flags: TCP_ACK | TCP_PSH, window: 65535, urgent: 0 }, payload);
  r.send({ srcPort: 80, dstPort: port, seq: PEER_ISN + 1, ack: iss - 2_000_000_000, flags: TCP_ACK | TCP_PSH, window: 65535, urgent: 0 }, payload);
  r.tcp.flush();
  assert.equal(delivered, 0, `nothing injected ${S}`);
  assert.equal(r.tcp.counters.drops.badAck, 2, S);
  // The real peer's data, with a right ACK, still flows.
  r.send({ srcPort: 80, dstPort: port, seq: PEER_ISN + 1, ack: iss + 1, flags: TCP_ACK | TCP_PSH, window: 65535, urgent: 0 }, payload);
  r.tcp.flush();
  assert.equal(delivered, 100, S);
  assert.equal(c.stateName, 'ESTABLISHED');
});
