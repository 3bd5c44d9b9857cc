/**
 * Hostile input: a peer must not be able to make Shoal deaf by making it hold receive
 * frames. Two attacks, at ten times the sizes that once emptied a queue's 4,096 receive
 * frames for good (after which no ping was answered and ARP went quiet):
 * - 40 connections each send 11,000 one-byte segments out of order (every other byte,
 *   so nothing can ever be delivered), each of which once pinned a whole 2 KB frame;
 * - a connection whose application never reads is fed 40,000 one-byte segments in
 *   order, inside the window it advertised.
 * Meanwhile a normal connection moves 10 MB and pings are answered throughout. The
 * attacker's frames go through B's receive ring like any other (a frame of the device's
 * pool each, handed to the queue as the NIC would): a frame that finds no free buffer
 * would be a starved ring.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, IP_B } from './net.js';
import { drain, patternBytes, pump, sha256 } from './tcp-harness.js';
import { Packet } from '../../src/packet/packet.js';
import { RX_HEADROOM } from '../../src/link/memory/device.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpFields } from '../../src/wire/tcp.js';
import type { TcpConnection } from '../../src/stack/tcp/index.js';
import { seedFromEnv } from '../../src/util/random.js';
import { tcpFrame, type Endpoints } from '../support/frames.js';
import { seedNote } from '../support/require.js';

const ATTACKER = parseIpv4('10.0.0.3');
const ATTACKER_MAC = 0x02_00_00_00_00_03;
const OOO_CONNECTIONS = 40;
const OOO_SEGMENTS = 11_000;
const STALLED_SEGMENTS = 40_000;
const BULK = 10 << 20;
const FRAME = 2048;

test('hostile memory: 40 × 11,000 out-of-order bytes and 40,000 in-order bytes to a reader that never reads; a 10 MB transfer and pings go on, frames come back', () => {
  const seed = seedFromEnv();
  const note = seedNote(seed);
  // No receive checksum offload: every frame B receives is copied into a frame of its
  // device's pool, as on a TAP (on a clean path the memory link would hand some over).
  const n = twoStacks({ seed, aToB: { delay: 1 }, bToA: { delay: 1 }, device: { rxCsumL4: false } });
  const { a, b, devB } = n;
  const queue = devB.queues[0]!;
  const E: Endpoints = { srcMac: ATTACKER_MAC, dstMac: devB.mac, src: ATTACKER, dst: IP_B };
  // B's answers to the attacker go out on the wire (to a MAC nobody has): the attacker reads B's state instead.
  b.arp.learn(ATTACKER, ATTACKER_MAC, n.clock.now());

  let starved = 0;
  let ringFull = 0;
  const inject = (fields: TcpFields, payload?: Uint8Array): void => {
    const p = Packet.copyOf(devB.pool, tcpFrame(E, fields, payload), RX_HEADROOM);
    if (p === null) starved++;
    else if (!queue.arrive(p)) ringFull++;
  };

  // B's servers: an echo server (attacked out of order), one that never reads (fed in order), a sink (the normal transfer).
  b.tcp.listen(7).onConnection((c) => {
    c.onReadable = () => {
      let d;
      while ((d = c.read()) !== null) c.write(d);
    };
  });
  b.tcp.listen(81).onConnection(() => {});
  let sink: ReturnType<typeof drain> | null = null;
  b.tcp.listen(80).onConnection((c) => (sink = drain(c)));

  // The attacker's handshakes (SACK and window scaling offered, as Linux would).
  interface Attack {
    port: number;
    dport: number;
    isn: number;
    ack: number;
    conn: TcpConnection;
  }
  const open = (port: number, dport: number): Attack => {
    const isn = (port * 7919 + 12345) >>> 0;
    inject({ srcPort: port, dstPort: dport, seq: isn, ack: 0, flags: TCP_SYN, window: 65535, urgent: 0, options: { mss: 1460, sackPermitted: true, wscale: 7 } });
    n.run(undefined, 1);
    const conn = b.tcp.lookup(IP_B, dport, ATTACKER, port);
    assert.ok(conn !== null, `the attacker's SYN to ${dport} was taken ${note}`);
    const ack = (conn.snd.iss + 1) >>> 0;
    inject({ srcPort: port, dstPort: dport, seq: (isn + 1) >>> 0, ack, flags: TCP_ACK, window: 65535, urgent: 0 });
    n.run(undefined, 1);
    assert.equal(conn.stateName, 'ESTABLISHED', note);
    return { port, dport, isn, ack, conn };
  };
  const ooo: Attack[] = [];
  for (let k = 0; k < OOO_CONNECTIONS; k++) ooo.push(open(20_000 + k, 7));
  const stalled = open(30_000, 81);
  n.run(undefined, 100);
  const baseline = devB.pool.inUse;

  // The normal connection, A → B.
  const up = patternBytes(BULK, seed);
  const client = a.tcp.connect({ dst: IP_B, dstPort: 80 });
  client.onConnect = () => pump(client, up);

  // Pings from A throughout: each must be answered before the next goes.
  let pingsSent = 0;
  let pingsAnswered = 0;
  a.icmp.onEchoReply = (_src, _id, seq) => {
    if (seq === pingsSent) pingsAnswered++;
  };
  const ping = (): void => {
    assert.equal(pingsAnswered, pingsSent, `ping ${pingsSent} was not answered (${starved} frames found no buffer) ${note}`);
    a.icmp.sendEcho(IP_B, 7, ++pingsSent, new Uint8Array(56));
  };

  let worstOver = -Infinity;
  const all = [...ooo, stalled];
  const check = (): void => {
    for (const t of all) worstOver = Math.max(worstOver, t.conn.receiveCharge - t.conn.receiveBudget);
  };

  // The attack: every other byte on 40 connections, and the stalled reader's bytes in order, 64 frames a burst.
  let inBurst = 0;
  let bursts = 0;
  const sent = (): void => {
    if (++inBurst < 64) return;
    inBurst = 0;
    n.run(undefined, 0.1);
    if (++bursts % 40 === 0) ping();
    if (bursts % 16 === 0) check();
  };
  const stalledPerRound = Math.ceil(STALLED_SEGMENTS / OOO_SEGMENTS);
  let stalledSent = 0;
  for (let j = 0; j < OOO_SEGMENTS; j++) {
    for (const t of ooo) {
      inject({ srcPort: t.port, dstPort: 7, seq: (t.isn + 2 + 2 * j) >>> 0, ack: t.ack, flags: TCP_ACK, window: 65535, urgent: 0 }, Uint8Array.of(j & 0xff));
      sent();
    }
    for (let i = 0; i < stalledPerRound && stalledSent < STALLED_SEGMENTS; i++, stalledSent++) {
      inject({ srcPort: stalled.port, dstPort: 81, seq: (stalled.isn + 1 + stalledSent) >>> 0, ack: stalled.ack, flags: TCP_ACK, window: 65535, urgent: 0 }, Uint8Array.of(stalledSent & 0xff));
      sent();
    }
  }
  n.run(undefined, 10);
  check();
  const bc = b.counters();
  console.log(
    `# hostile memory: ${bursts} bursts, pool in use ${devB.pool.inUse}/${devB.pool.slotCount} (reserve ${devB.pool.reserve}), charged ${b.env.rxMemory.charged} B; ` +
      `pressure copies ${bc.tcp.pressureCopies}, collapsed ${bc.tcp.collapsedSegments}, ooo pruned ${bc.tcp.oooPruned}, drops ${JSON.stringify(bc.tcp.drops)}; pings ${pingsAnswered}/${pingsSent}; worst charge over budget ${worstOver} ${note}`,
  );
  assert.equal(starved, 0, `frames that found no receive buffer ${note}`);
  assert.equal(ringFull + devB.counters.rxNoBuffer, 0, note);
  assert.ok(pingsSent > 100, note);
  assert.ok(bc.tcp.pressureCopies > 0 && bc.tcp.collapsedSegments > 0, `the defences were used ${note}`);
  assert.ok(worstOver <= FRAME, `a connection's charge went ${worstOver} bytes over its budget ${note}`);
  assert.equal(bc.tcp.drops.internalError, 0, note);

  // The reader that never read has every byte, in order.
  assert.equal(stalled.conn.readableLength, STALLED_SEGMENTS, note);
  const got = stalled.conn.read()!;
  for (let i = 0; i < got.length; i++) if (got[i] !== (i & 0xff)) assert.fail(`stalled byte ${i} is ${got[i]} ${note}`);

  // The transfer completes intact.
  client.onClose = null;
  assert.ok(n.run(() => sink !== null && sink.bytes() === BULK && sink.ended(), 60_000), `the transfer finished ${note}`);
  assert.equal(sink!.digest(), sha256(up), note);

  // The attacker resets (exact sequence numbers, RFC 5961): every frame comes back.
  for (const t of all) inject({ srcPort: t.port, dstPort: t.dport, seq: t.conn.rcvNxt, ack: 0, flags: TCP_RST, window: 0, urgent: 0 });
  n.run(undefined, 1000);
  for (const t of all) assert.equal(t.conn.stateName, 'CLOSED', note);
  assert.ok(devB.pool.inUse <= baseline, `receive frames in use ${devB.pool.inUse}, before the attack ${baseline} ${note}`);
  assert.equal(b.env.rxMemory.charged, 0, `nothing charged once nothing is held ${note}`);
  ping();
  n.run(undefined, 10);
  assert.equal(pingsAnswered, pingsSent, `B answers after the attack ${note}`);
});
