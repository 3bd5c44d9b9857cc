/** The state machine against a scripted peer: handshakes, teardowns, RSTs, options. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raw, A_ADDR, B_ADDR } from './tcp-harness.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import { seedFromEnv } from '../../src/util/random.js';
import type { TcpConnection, TcpError } from '../../src/stack/tcp/index.js';

const SEED = seedFromEnv();
const S = `(SHOAL_SEED=${SEED})`;
const PEER_ISN = 1_000_000;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A connection from the Tcp (A) to the scripted peer (B:80), established. */
function activeOpen(r: Raw, peerOptions = { mss: 1460, wscale: 7 }): { c: TcpConnection; iss: number; events: string[] } {
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  const events: string[] = [];
  c.onConnect = () => events.push('connect');
  c.onEnd = () => events.push('end');
  c.onClose = (e?: TcpError) => events.push(e ? `close:${e.code}` : 'close');
  const [syn] = r.collect();
  assert.ok(syn && syn.flags === TCP_SYN, S);
  assert.equal(syn.options.mss, 1460);
  assert.equal(syn.options.wscale, 7, 'scale for the 6 MiB the receive buffer may grow to');
  r.send({ srcPort: 80, dstPort: syn.srcPort, seq: PEER_ISN, ack: syn.seq + 1, flags: TCP_SYN | TCP_ACK, window: 65535, urgent: 0, options: peerOptions });
  const [ack] = r.take().slice(-1);
  assert.equal(ack!.flags, TCP_ACK);
  assert.equal(ack!.ack, PEER_ISN + 1);
  r.tcp.flush();
  assert.deepEqual(events, ['connect']);
  return { c, iss: syn.seq, events };
}

/** A connection from the scripted peer to the Tcp's listener on port 80, established. */
function passiveOpen(r: Raw, peerPort = 4000): { c: TcpConnection; iss: number } {
  let c: TcpConnection | null = null;
  const l = r.tcp.listen(80);
  l.onConnection((x) => (c = x));
  r.send({ srcPort: peerPort, dstPort: 80, seq: PEER_ISN, ack: 0, flags: TCP_SYN, window: 65535, urgent: 0, options: { mss: 1460, wscale: 7 } });
  const [synack] = r.take();
  assert.equal(synack!.flags, TCP_SYN | TCP_ACK);
  assert.equal(synack!.ack, PEER_ISN + 1);
  r.send({ srcPort: peerPort, dstPort: 80, seq: PEER_ISN + 1, ack: synack!.seq + 1, flags: TCP_ACK, window: 1000, urgent: 0 });
  r.tcp.flush();
  assert.ok(c, 'accepted');
  return { c: c!, iss: synack!.seq };
}

test('tcp states: active open, peer closes first (CLOSE_WAIT → LAST_ACK → CLOSED)', () => {
  const r = new Raw(SEED);
  const { c, iss, events } = activeOpen(r);
  const port = c.localPort;
  r.send({ srcPort: 80, dstPort: port, seq: PEER_ISN + 1, ack: iss + 1, flags: TCP_ACK | TCP_FIN | TCP_PSH, window: 65535, urgent: 0 }, enc('bye'));
  assert.equal(c.stateName, 'CLOSE_WAIT');
  const [ack] = r.take();
  assert.equal(ack!.ack, PEER_ISN + 1 + 3 + 1, 'data and FIN acked at once');
  r.tcp.flush();
  assert.equal(new TextDecoder().decode(c.read()!), 'bye');
  r.tcp.flush();
  assert.deepEqual(events, ['connect', 'end']);
  c.close();
  assert.equal(c.stateName, 'LAST_ACK');
  const [fin] = r.collect();
  assert.equal(fin!.flags, TCP_FIN | TCP_ACK);
  r.send({ srcPort: 80, dstPort: port, seq: PEER_ISN + 5, ack: fin!.seq + 1, flags: TCP_ACK, window: 65535, urgent: 0 });
  assert.equal(c.stateName, 'CLOSED');
  r.tcp.flush();
  assert.deepEqual(events, ['connect', 'end', 'close']);
  assert.equal(r.host.timers.size, 0);
  assert.equal(r.host.pool.inUse, 0);
  assert.equal(r.tcp.connections, 0);
});

test('tcp states: we close first: FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT → CLOSED after 2·MSL', () => {
  const r = new Raw(SEED, { msl: 1000 });
  const { c, iss } = activeOpen(r);
  const port = c.localPort;
  c.close();
  assert.equal(c.stateName, 'FIN_WAIT_1');
  const [fin] = r.collect();
  assert.equal(fin!.seq, iss + 1);
  r.send({ srcPort: 80, dstPort: port, seq: PEER_ISN + 1, ack: iss + 2, flags: TCP_ACK, window: 65535, urgent: 0 });
  assert.equal(c.stateName, 'FIN_WAIT_2');
  r.send({ srcPort: 80, dstPort: port, seq: PEER_ISN + 1, ack: iss + 2, flags: TCP_ACK | TCP_FIN, window: 65535, urgent: 0 });
  assert.equal(c.stateName, 'TIME_WAIT');
  assert.equal(r.take().at(-1)!.ack, PEER_ISN + 2);
  // A retransmitted FIN in TIME_WAIT is acked again and restarts the 2·MSL timer.
  r.advance(1500);
  r.send({ srcPort: 80, dstPort: port, seq: PEER_ISN + 1, ack: iss + 2, flags: TCP_ACK | TCP_FIN, window: 65535, urgent: 0 });
  assert.equal(r.take().length, 1);
  r.advance(1999);
  assert.equal(c.stateName, 'TIME_WAIT');
  r.advance(1);
  assert.equal(c.stateName, 'CLOSED');
  assert.equal(r.host.timers.size, 0);
  assert.equal(r.tcp.connections, 0);
});

test('tcp states: simultaneous close (FIN_WAIT_1 → CLOSING → TIME_WAIT)', () => {
  const r = new Raw(SEED);
  const { c, iss } = activeOpen(r);
  c.shutdown();
  const [fin] = r.collect();
  assert.equal(fin!.flags & TCP_FIN, TCP_FIN);
  // The peer's FIN crosses ours: it does not ack our FIN.
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 1, ack: iss + 1, flags: TCP_ACK | TCP_FIN, window: 65535, urgent: 0 });
  assert.equal(c.stateName, 'CLOSING');
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 2, ack: iss + 2, flags: TCP_ACK, window: 65535, urgent: 0 });
  assert.equal(c.stateName, 'TIME_WAIT');
});

test('tcp states: simultaneous open (SYN_SENT → SYN_RECEIVED → ESTABLISHED)', () => {
  const r = new Raw(SEED);
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 5000, srcPort: 6000 });
  let connected = false;
  c.onConnect = () => (connected = true);
  const [syn] = r.collect();
  // The peer's own SYN crosses ours.
  r.send({ srcPort: 5000, dstPort: 6000, seq: PEER_ISN, ack: 0, flags: TCP_SYN, window: 65535, urgent: 0, options: { mss: 1000 } });
  assert.equal(c.stateName, 'SYN_RECEIVED');
  const [synack] = r.take();
  assert.equal(synack!.flags, TCP_SYN | TCP_ACK);
  assert.equal(synack!.seq, syn!.seq, 'the same ISN');
  assert.equal(synack!.options.wscale, undefined, 'no window scale: the peer offered none');
  // The peer's SYN-ACK for our SYN.
  r.send({ srcPort: 5000, dstPort: 6000, seq: PEER_ISN, ack: syn!.seq + 1, flags: TCP_SYN | TCP_ACK, window: 65535, urgent: 0, options: { mss: 1000 } });
  assert.equal(c.stateName, 'ESTABLISHED');
  r.tcp.flush();
  assert.ok(connected);
  assert.equal(c.sndMss, 1000);
  assert.deepEqual(c.windowScales, { send: 0, receive: 0 });
});

test('tcp states: passive open; peer sends no options → MSS 536, no window scaling', () => {
  const r = new Raw(SEED);
  const l = r.tcp.listen(80);
  let c: TcpConnection | null = null;
  l.onConnection((x) => (c = x));
  r.send({ srcPort: 4000, dstPort: 80, seq: PEER_ISN, ack: 0, flags: TCP_SYN, window: 8192, urgent: 0 });
  const [synack] = r.take();
  assert.equal(synack!.options.mss, 1460);
  assert.equal(synack!.options.wscale, undefined);
  assert.equal(synack!.window, 65535);
  r.send({ srcPort: 4000, dstPort: 80, seq: PEER_ISN + 1, ack: synack!.seq + 1, flags: TCP_ACK, window: 8192, urgent: 0 });
  r.tcp.flush();
  assert.ok(c);
  const conn = c as TcpConnection;
  assert.equal(conn.sndMss, 536);
  assert.deepEqual(conn.windowScales, { send: 0, receive: 0 });
  conn.write(new Uint8Array(3000));
  const segs = r.collect();
  // Nagle holds the 320-byte tail while full segments are unacknowledged.
  assert.deepEqual(segs.map((s) => s.payload.length), [536, 536, 536, 536, 536]);
  for (const s of segs) assert.ok(s.window <= 65535);
  r.send({ srcPort: 4000, dstPort: 80, seq: PEER_ISN + 1, ack: segs[4]!.seq + 536, flags: TCP_ACK, window: 8192, urgent: 0 });
  assert.deepEqual(r.collect().map((s) => s.payload.length), [320]);
});

test('tcp states: MSS is clamped to the path MTU', () => {
  const r = new Raw(SEED, undefined, { mtu: 1400 });
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  const [syn] = r.collect();
  assert.equal(syn!.options.mss, 1360);
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN, ack: syn!.seq + 1, flags: TCP_SYN | TCP_ACK, window: 65535, urgent: 0, options: { mss: 9000 } });
  assert.equal(c.sndMss, 1360);
});

test('tcp states: RST in SYN_SENT (refused), ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, LAST_ACK, CLOSING, TIME_WAIT', () => {
  const cases: [string, (r: Raw, c: TcpConnection, iss: number) => void, string][] = [
    ['ESTABLISHED', () => {}, 'close:ECONNRESET'],
    ['FIN_WAIT_1', (_r, c) => c.shutdown(), 'close:ECONNRESET'],
    ['FIN_WAIT_2', (r, c, iss) => {
      c.shutdown();
      r.collect();
      r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 1, ack: iss + 2, flags: TCP_ACK, window: 65535, urgent: 0 });
    }, 'close:ECONNRESET'],
    ['CLOSE_WAIT', (r, c, iss) => r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 1, ack: iss + 1, flags: TCP_ACK | TCP_FIN, window: 65535, urgent: 0 }), 'close:ECONNRESET'],
    ['LAST_ACK', (r, c, iss) => {
      r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 1, ack: iss + 1, flags: TCP_ACK | TCP_FIN, window: 65535, urgent: 0 });
      c.shutdown();
    }, 'close'],
    ['CLOSING', (r, c, iss) => {
      c.shutdown();
      r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 1, ack: iss + 1, flags: TCP_ACK | TCP_FIN, window: 65535, urgent: 0 });
    }, 'close'],
    ['TIME_WAIT', (r, c, iss) => {
      c.shutdown();
      r.collect();
      r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 1, ack: iss + 2, flags: TCP_ACK | TCP_FIN, window: 65535, urgent: 0 });
    }, 'close'],
  ];
  for (const [state, setup, expected] of cases) {
    const r = new Raw(SEED);
    const { c, iss, events } = activeOpen(r);
    setup(r, c, iss);
    assert.equal(c.stateName, state, S);
    const rcvNxt = c.rcvNxt;
    // An in-window RST with the wrong sequence number gets a challenge ACK (RFC 5961).
    r.take();
    r.send({ srcPort: 80, dstPort: c.localPort, seq: rcvNxt + 10, ack: 0, flags: TCP_RST, window: 0, urgent: 0 });
    if (state !== 'TIME_WAIT') {
      assert.equal(c.stateName, state, `${state}: survives a blind RST`);
      assert.equal(r.take().length, 1, `${state}: challenge ACK`);
    }
    r.send({ srcPort: 80, dstPort: c.localPort, seq: rcvNxt, ack: 0, flags: TCP_RST, window: 0, urgent: 0 });
    assert.equal(c.stateName, 'CLOSED', state);
    r.tcp.flush();
    assert.equal(events.at(-1), expected, state);
    assert.equal(r.host.timers.size, 0, `${state}: timers`);
    assert.equal(r.tcp.connections, 0);
    assert.equal(r.host.pool.inUse, 0);
  }
});

test('tcp states: RST in SYN_RECEIVED returns the listener to LISTEN quietly', () => {
  const r = new Raw(SEED);
  const l = r.tcp.listen(80);
  let accepted = 0;
  l.onConnection(() => accepted++);
  r.send({ srcPort: 4000, dstPort: 80, seq: PEER_ISN, ack: 0, flags: TCP_SYN, window: 65535, urgent: 0 });
  assert.equal(l.handshaking, 1);
  r.send({ srcPort: 4000, dstPort: 80, seq: PEER_ISN + 1, ack: 0, flags: TCP_RST, window: 0, urgent: 0 });
  assert.equal(l.handshaking, 0);
  assert.equal(r.tcp.connections, 0);
  assert.equal(accepted, 0);
  assert.equal(r.host.timers.size, 0);
  assert.equal(r.tcp.counters.states.LISTEN, 1);
});

test('tcp states: abort() sends RST; segments for no connection get RST', () => {
  const r = new Raw(SEED);
  const { c, events } = activeOpen(r);
  r.take();
  c.abort();
  const [rst] = r.collect();
  assert.equal(rst!.flags & TCP_RST, TCP_RST);
  assert.equal(rst!.seq, c.snd.sndNxt);
  r.tcp.flush();
  assert.deepEqual(events, ['connect', 'close']);
  // An ACK for nothing: RST with seq = its ack.
  r.send({ srcPort: 81, dstPort: 999, seq: 5, ack: 777, flags: TCP_ACK, window: 0, urgent: 0 });
  const [rst2] = r.take();
  assert.equal(rst2!.flags, TCP_RST);
  assert.equal(rst2!.seq, 777);
  // A SYN for nothing: RST+ACK acking the SYN.
  r.send({ srcPort: 81, dstPort: 999, seq: 5, ack: 0, flags: TCP_SYN, window: 0, urgent: 0 });
  const [rst3] = r.take();
  assert.equal(rst3!.flags, TCP_RST | TCP_ACK);
  assert.equal(rst3!.ack, 6);
  // Never a RST for a RST.
  r.send({ srcPort: 81, dstPort: 999, seq: 5, ack: 0, flags: TCP_RST, window: 0, urgent: 0 });
  assert.equal(r.take().length, 0);
  assert.equal(r.tcp.counters.drops.noListener, 3);
});

test('tcp states: listen backlog: accept queue and SYN queue bounded, overflow counted', () => {
  const r = new Raw(SEED);
  const l = r.tcp.listen(80, { backlog: 2 });
  let acceptable = 0;
  l.onAcceptable = () => acceptable++;
  for (let i = 0; i < 4; i++) {
    r.send({ srcPort: 4000 + i, dstPort: 80, seq: PEER_ISN, ack: 0, flags: TCP_SYN, window: 65535, urgent: 0 });
    const synack = r.take().at(-1);
    if (synack) r.send({ srcPort: 4000 + i, dstPort: 80, seq: PEER_ISN + 1, ack: synack.seq + 1, flags: TCP_ACK, window: 65535, urgent: 0 });
  }
  r.tcp.flush();
  assert.equal(l.pending, 2);
  assert.ok(acceptable >= 1);
  assert.equal(r.tcp.counters.drops.backlogFull, 2);
  const a = l.accept()!;
  assert.equal(a.stateName, 'ESTABLISHED');
  assert.equal(a.remotePort, 4000);
  assert.equal(l.pending, 1);
  l.close();
  // The one nobody accepted was reset; the accepted one lives on.
  assert.equal(a.stateName, 'ESTABLISHED');
  assert.equal(r.tcp.connections, 1);
  a.abort();
  assert.equal(r.tcp.connections, 0);
  assert.equal(r.tcp.counters.states.LISTEN, 0);
});

test('tcp states: half-close: we shut down, the peer keeps sending, we keep reading', () => {
  const r = new Raw(SEED);
  const { c, iss } = passiveOpen(r);
  r.take();
  c.shutdown();
  const [fin] = r.collect();
  assert.equal(fin!.flags & TCP_FIN, TCP_FIN);
  r.send({ srcPort: 4000, dstPort: 80, seq: PEER_ISN + 1, ack: iss + 2, flags: TCP_ACK, window: 1000, urgent: 0 }, enc('more'));
  assert.equal(c.stateName, 'FIN_WAIT_2');
  assert.equal(new TextDecoder().decode(c.read()!), 'more');
  assert.equal(c.write(enc('x')), 0, 'no writes after shutdown');
  r.send({ srcPort: 4000, dstPort: 80, seq: PEER_ISN + 5, ack: iss + 2, flags: TCP_ACK | TCP_FIN, window: 1000, urgent: 0 });
  assert.equal(c.stateName, 'TIME_WAIT');
  void A_ADDR;
});

test('tcp states: bad checksum and malformed segments are counted and dropped, never thrown', () => {
  const r = new Raw(SEED);
  const { c } = passiveOpen(r);
  const before = c.rcvNxt;
  r.send({ srcPort: 4000, dstPort: 80, seq: before, ack: 0, flags: TCP_ACK, window: 1000, urgent: 0 }, enc('corrupt'), B_ADDR, true);
  assert.equal(r.tcp.counters.drops.badChecksum, 1);
  assert.equal(c.rcvNxt, before);
  const bad = [new Uint8Array(5), new Uint8Array(20), new Uint8Array(40)];
  bad[1]![12] = 0x30; // data offset 12 bytes
  bad[2]![12] = 0x80; // 32-byte header with options
  bad[2]![20] = 2;
  bad[2]![21] = 40; // option runs past the header
  for (const b of bad) {
    b[0] = 0x0f; b[1] = 0xa0; b[2] = 0; b[3] = 80;
    r.host.tcp.receive(wrapFrame(r, b), B_ADDR, A_ADDR, r.now);
  }
  assert.equal(r.tcp.counters.drops.malformed, 3);
  assert.equal(c.stateName, 'ESTABLISHED');
  c.abort();
  r.take();
  assert.equal(r.host.pool.inUse, 0);
});

import { Packet } from '../../src/packet/packet.js';
function wrapFrame(r: Raw, b: Uint8Array): Packet {
  const p = Packet.alloc(r.host.pool, 64)!;
  p.bufs[0]!.set(b, p.append(b.length));
  p.csumVerified = true;
  return p;
}

test('tcp states: ICMP host unreachable fails a connect with EHOSTUNREACH; frag-needed lowers the MSS', () => {
  const r = new Raw(SEED);
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  let err: TcpError | undefined;
  c.onClose = (e) => (err = e);
  const [syn] = r.collect();
  r.take();
  r.tcp.icmpError({ type: 3, code: 1, mtu: 0, src: A_ADDR, dst: B_ADDR, srcPort: c.localPort, dstPort: 80, seq: syn!.seq }, r.now);
  assert.equal(err?.code, 'EHOSTUNREACH');
  assert.equal(r.tcp.connections, 0);
  assert.equal(r.host.timers.size, 0);

  const { c: d, iss } = activeOpen(r);
  d.write(new Uint8Array(3000));
  const segs = r.collect();
  assert.equal(segs[0]!.payload.length, 1460);
  r.tcp.icmpError({ type: 3, code: 4, mtu: 1000, src: A_ADDR, dst: B_ADDR, srcPort: d.localPort, dstPort: 80, seq: iss + 1 }, r.now);
  assert.equal(d.sndMss, 960);
  r.take();
  const again = r.collect();
  assert.ok(again.length > 0 && again.every((s) => s.payload.length <= 960), 'resent in smaller segments');
});

import { GSO_TCPV4 } from '../../src/packet/packet.js';
import { readU16 } from '../../src/wire/addr.js';
import { pseudoHeaderSum } from '../../src/wire/checksum.js';

test('tcp transmit: with TSO and checksum offload, one super-frame of MSS-sized pieces with a partial checksum', () => {
  const r = new Raw(SEED, { sendBuffer: 1 << 20 }, { tso: true, txCsumL4: true, maxTsoSize: 65535 });
  const { c, iss } = activeOpen(r);
  // The peer's window and our cwnd allow 10 segments; write more than that.
  c.write(new Uint8Array(100_000).fill(7));
  const out = { src: 0, dst: 0, df: false, tos: 0, ttl: 0 };
  const p = r.tcp.pull(out, r.now)!;
  assert.ok(p);
  assert.equal(out.src, A_ADDR);
  assert.equal(out.dst, B_ADDR);
  assert.equal(out.df, true);
  assert.equal(p.gsoType, GSO_TCPV4);
  assert.equal(p.gsoSize, 1460);
  assert.equal(p.length, 20 + 10 * 1460, 'initial window in one frame');
  assert.equal(p.csumStart, 0);
  assert.equal(p.csumOffset, 16);
  const b = p.toBytes();
  assert.equal(readU16(b, 16), pseudoHeaderSum(A_ADDR, B_ADDR, 6, p.length), 'the field holds the pseudo-header sum');
  assert.ok(p.fragmentCount >= 2, 'payload as views of the send buffer, not copied');
  p.release();
  assert.equal(r.tcp.pull(out, r.now), null, 'cwnd full');
  void iss;
});

test('tcp states: a new SYN with a higher sequence number reuses a 4-tuple in TIME_WAIT', () => {
  const r = new Raw(SEED);
  const { c } = passiveOpen(r, 4444);
  r.take();
  // The peer closes first... no: we close first, so we hold TIME_WAIT.
  c.close();
  const [fin] = r.collect();
  r.send({ srcPort: 4444, dstPort: 80, seq: PEER_ISN + 1, ack: fin!.seq + 1, flags: TCP_ACK | TCP_FIN, window: 1000, urgent: 0 });
  assert.equal(c.stateName, 'TIME_WAIT');
  r.take();
  r.send({ srcPort: 4444, dstPort: 80, seq: PEER_ISN + 100_000, ack: 0, flags: TCP_SYN, window: 65535, urgent: 0 });
  const [synack] = r.take();
  assert.equal(synack!.flags, TCP_SYN | TCP_ACK, 'accepted as a new connection');
  assert.equal(synack!.ack, PEER_ISN + 100_001);
  assert.equal(c.stateName, 'CLOSED');
  assert.equal(r.tcp.counters.states.SYN_RECEIVED, 1);
});

test('tcp states: write and shutdown before the handshake completes: data and FIN follow it', () => {
  const r = new Raw(SEED);
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  assert.equal(c.write(enc('early')), 5);
  c.shutdown();
  const [syn] = r.collect();
  assert.equal(syn!.flags, TCP_SYN);
  assert.equal(c.stateName, 'SYN_SENT');
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN, ack: syn!.seq + 1, flags: TCP_SYN | TCP_ACK, window: 65535, urgent: 0 });
  assert.equal(c.stateName, 'FIN_WAIT_1');
  const segs = r.take();
  const data = segs.find((s) => s.payload.length > 0)!;
  assert.equal(new TextDecoder().decode(data.payload), 'early');
  assert.equal(data.flags & TCP_FIN, TCP_FIN, 'FIN rides on the data');
});
