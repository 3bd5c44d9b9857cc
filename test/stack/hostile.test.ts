/**
 * Hostile input (issue 3): a million random and mutated frames into a live stack.
 * Nothing may throw out of the stack, memory stays bounded, every frame returns to its
 * pool, and the stack still does its work afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, IP_A, IP_B, type TwoStacks } from './net.js';
import { FramePool } from '../../src/packet/pool.js';
import { Packet } from '../../src/packet/packet.js';
import { Random, seedFromEnv } from '../../src/util/random.js';
import { arpRequest, tcpFrame, udpFrame, type Endpoints } from '../support/frames.js';
import { seedNote } from '../support/require.js';
import { TCP_ACK, TCP_SYN } from '../../src/wire/tcp.js';
import { drain, patternBytes, pump, sha256 } from './tcp-harness.js';
import { emitIpv4Header, IPPROTO_ICMP, IPPROTO_UDP } from '../../src/wire/ipv4.js';

const FRAMES = 1_000_000;
const E: Endpoints = { srcMac: 0x02_00_00_00_00_01, dstMac: 0x02_00_00_00_00_02, src: IP_A, dst: IP_B };

/** Valid frames of every kind B understands, to be mutated. */
function templates(): Uint8Array[] {
  const icmp = new Uint8Array(14 + 20 + 64);
  icmp.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
  emitIpv4Header({ dscp: 0, ecn: 0, totalLength: 84, id: 9, df: false, mf: false, fragmentOffset: 0, ttl: 64, protocol: IPPROTO_ICMP, src: IP_A, dst: IP_B }, icmp, 14);
  icmp[34] = 8;
  const frag = new Uint8Array(14 + 20 + 512);
  frag.set(icmp.subarray(0, 14));
  emitIpv4Header({ dscp: 0, ecn: 0, totalLength: 532, id: 77, df: false, mf: true, fragmentOffset: 0, ttl: 64, protocol: IPPROTO_UDP, src: IP_A, dst: IP_B }, frag, 14);
  return [
    arpRequest(E.srcMac, IP_A, IP_B),
    udpFrame(E, 5000, 7777, new Uint8Array(100)),
    udpFrame(E, 5000, 9, new Uint8Array(3)),
    tcpFrame(E, { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: TCP_SYN, window: 64240, urgent: 0, options: { mss: 1460, sackPermitted: true, tsVal: 1, tsEcr: 0, wscale: 7 } }),
    tcpFrame(E, { srcPort: 40000, dstPort: 80, seq: 2, ack: 1, flags: TCP_ACK, window: 502, urgent: 0 }, new Uint8Array(200)),
    icmp,
    frag,
  ];
}

function mutate(rng: Random, t: Uint8Array[], out: Uint8Array): number {
  const kind = rng.int(10);
  if (kind === 0) {
    // Random bytes of random length, with our MAC so that they get past L2.
    const len = rng.int(out.length);
    for (let i = 0; i < len; i++) out[i] = rng.nextU32() & 0xff;
    out.set([0x02, 0, 0, 0, 0, 0x02], 0);
    return len;
  }
  const src = t[rng.int(t.length)]!;
  let len = src.length;
  out.set(src);
  const flips = 1 + rng.int(4);
  for (let i = 0; i < flips; i++) {
    // Mostly in the headers, where parsers live.
    const at = rng.chance(0.8) ? 14 + rng.int(Math.min(60, len - 14)) : rng.int(len);
    out[at] = rng.nextU32() & 0xff;
  }
  if (rng.chance(0.2)) len = 14 + rng.int(len - 14);
  return len;
}

function pingWorks(n: TwoStacks): boolean {
  let ok = false;
  n.a.icmp.onEchoReply = () => (ok = true);
  n.a.icmp.sendEcho(IP_B, 1, 1, new Uint8Array(32));
  n.run(() => ok, 1000);
  n.a.icmp.onEchoReply = null;
  return ok;
}

test(`hostile input: ${FRAMES.toLocaleString('en')} random and mutated frames during a live transfer; the stack stays sound`, () => {
  const seed = seedFromEnv();
  const note = seedNote(seed);
  const rng = new Random(seed);
  // 5 ms each way, so that the transfer spans the attack (about 1 ms of virtual time per 1,024 frames).
  const n = twoStacks({ seed, aToB: { delay: 5 }, bToA: { delay: 5 } });
  assert.ok(pingWorks(n), note);
  // A live connection A → B that must come through intact: 8 MB each way.
  const up = patternBytes(8 << 20, seed);
  const down = patternBytes(8 << 20, seed ^ 1);
  const server = n.b.tcp.listen(80);
  let atB: ReturnType<typeof drain> | null = null;
  server.onConnection((s) => {
    atB = drain(s);
    pump(s, down);
  });
  const client = n.a.tcp.connect({ dst: IP_B, dstPort: 80 });
  const atA = drain(client);
  client.onConnect = () => pump(client, up);
  const pool = new FramePool({ slotSize: 2048, slots: 4096 });
  const t = templates();
  const scratch = new Uint8Array(1600);
  const burst: Packet[] = [];
  let maxHeld = 0;
  let finishedAt = -1;
  for (let sent = 0; sent < FRAMES; ) {
    burst.length = 0;
    for (let i = 0; i < 64 && sent < FRAMES; i++, sent++) {
      const len = mutate(rng, t, scratch);
      burst.push(Packet.copyOf(pool, scratch.subarray(0, len), 64)!);
    }
    try {
      n.b.iface.receiveBurst(burst, burst.length);
    } catch (err) {
      assert.fail(`the stack threw on frame ${sent}: ${(err as Error).stack} ${note}`);
    }
    // Let the transfer and B's replies go on, and time move.
    if (sent % 1024 === 0) n.run(undefined, 1);
    maxHeld = Math.max(maxHeld, pool.inUse);
    if (finishedAt < 0 && atA.ended() && atB !== null && (atB as ReturnType<typeof drain>).ended()) finishedAt = sent;
  }
  assert.ok(finishedAt < 0 || finishedAt > 100_000, `the transfer ran during the attack (done after ${finishedAt} frames) ${note}`);
  assert.ok(n.run(() => atA.ended() && atB !== null && atB.ended(), 120_000), `the transfer finished ${note}`);
  assert.equal(atA.digest(), sha256(down), `download intact ${note}`);
  assert.equal(atB!.digest(), sha256(up), `upload intact ${note}`);
  n.run(undefined, 31_000);
  const c = n.b.counters();
  assert.ok(maxHeld <= 1100, `frames held at most by reassembly (1024) and queues: ${maxHeld} ${note}`);
  assert.equal(pool.inUse, 0, `every hostile frame released ${note}`);
  assert.equal(n.b.ipv4.reassembly.pending, 0, note);
  assert.ok(c.ipv4.inCsumErrors + c.ipv4.inHdrErrors + c.ipv4.inTruncated > 100_000, `malformed IPv4 counted ${JSON.stringify(c.ipv4)}`);
  assert.ok(c.arp.rxMalformed > 1000, note);
  assert.ok(pingWorks(n), `B still answers ${note}`);
  n.run(undefined, 1000);
  assert.equal(n.a.pool.inUse + n.b.pool.inUse, 0, `stack pools clean: a ${n.a.pool.inUse}, b ${n.b.pool.inUse}, tcp a ${n.a.tcp.connections} b ${n.b.tcp.connections} ${note}`);
});
