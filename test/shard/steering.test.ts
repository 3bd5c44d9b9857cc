/**
 * Receive steering (src/shard/steering.ts): a frame goes to the shard that owns its flow,
 * as Seastar's per-protocol forward() and a NIC's RSS would send it; and a shard's
 * connects pick ephemeral ports whose replies steer back to it (src/stack/ports.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BROADCAST, Steering } from '../../src/shard/steering.js';
import { EphemeralPorts, EPHEMERAL_HIGH, EPHEMERAL_LOW } from '../../src/stack/ports.js';
import { Tcp } from '../../src/stack/tcp/index.js';
import { Random, seedFromEnv } from '../../src/util/random.js';
import { parseIpv4, writeU16, writeU32, type Ipv4Address } from '../../src/wire/addr.js';
import { emitEthernet, ETHERNET_HEADER_LENGTH as ETH, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN } from '../../src/wire/ethernet.js';
import { emitIpv4Header, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HEADER_LENGTH } from '../../src/wire/ipv4.js';
import { echoRest, emitIcmp, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REQUEST, ICMP_PORT_UNREACHABLE, ICMP_TIME_EXCEEDED } from '../../src/wire/icmp.js';
import { emitArp, ARP_LENGTH, ARP_OP_REPLY } from '../../src/wire/arp.js';
import { TCP_ACK, TCP_SYN } from '../../src/wire/tcp.js';
import { DEFAULT_RSS_KEY, toeplitzReference } from '../../src/wire/toeplitz.js';
import { arpRequest, tcpFrame, udpFrame, type Endpoints } from '../support/frames.js';
import { seedNote } from '../support/require.js';
import { A_ADDR, B_ADDR, Raw } from '../stack/tcp-harness.js';

const US = parseIpv4('10.0.0.1');
const PEER = parseIpv4('192.0.2.7');
const US_MAC = 0x02_00_00_00_00_01;
const PEER_MAC = 0x02_00_00_00_00_02;
/** What arrives at us from the peer, and what the peer receives from us. */
const inbound = (src = PEER, dst = US): Endpoints => ({ srcMac: PEER_MAC, dstMac: US_MAC, src, dst });
const outbound = (src = US, dst = PEER): Endpoints => ({ srcMac: US_MAC, dstMac: PEER_MAC, src, dst });

const syn = (e: Endpoints, srcPort: number, dstPort: number, flags = TCP_SYN): Uint8Array =>
  tcpFrame(e, { srcPort, dstPort, seq: 1000, ack: 0, flags, window: 65535, urgent: 0 });

/** The reference: Toeplitz, bit by bit, over the 4-tuple in packet order, then the table. */
function referenceShard(table: Uint8Array, src: Ipv4Address, dst: Ipv4Address, srcPort: number, dstPort: number): number {
  const input = new Uint8Array(12);
  writeU32(input, 0, src);
  writeU32(input, 4, dst);
  writeU16(input, 8, srcPort);
  writeU16(input, 10, dstPort);
  return table[toeplitzReference(DEFAULT_RSS_KEY, input) & 127]!;
}

function reference2(table: Uint8Array, src: Ipv4Address, dst: Ipv4Address): number {
  const input = new Uint8Array(8);
  writeU32(input, 0, src);
  writeU32(input, 4, dst);
  return table[toeplitzReference(DEFAULT_RSS_KEY, input) & 127]!;
}

/** An IPv4 frame around `payload` (already built, checksums and all), with the fragment fields given. */
function ipFrame(e: Endpoints, protocol: number, payload: Uint8Array, frag: { id?: number; mf?: boolean; offset?: number } = {}): Uint8Array {
  const b = new Uint8Array(ETH + IPV4_HEADER_LENGTH + payload.length);
  emitEthernet({ dst: e.dstMac, src: e.srcMac, ethertype: ETHERTYPE_IPV4 }, b, 0);
  emitIpv4Header(
    {
      dscp: 0, ecn: 0, totalLength: IPV4_HEADER_LENGTH + payload.length, id: frag.id ?? 1, df: false, mf: frag.mf ?? false,
      fragmentOffset: frag.offset ?? 0, ttl: 64, protocol, src: e.src, dst: e.dst,
    },
    b,
    ETH,
  );
  b.set(payload, ETH + IPV4_HEADER_LENGTH);
  return b;
}

/** The IP payload of a whole frame (no options in ours). */
const ipPayload = (frame: Uint8Array): Uint8Array => frame.subarray(ETH + IPV4_HEADER_LENGTH);

/** A datagram cut into fragments of `size` payload bytes (a multiple of 8), as a router would (RFC 791). */
function fragment(e: Endpoints, protocol: number, payload: Uint8Array, size: number, id: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < payload.length; at += size) {
    const part = payload.subarray(at, Math.min(at + size, payload.length));
    out.push(ipFrame(e, protocol, part, { id, mf: at + size < payload.length, offset: at }));
  }
  return out;
}

/** An ICMP error from `e.src` quoting the IP header and first 8 bytes of `quoted` (an IP datagram, RFC 792). */
function icmpError(e: Endpoints, type: number, code: number, quoted: Uint8Array): Uint8Array {
  const body = quoted.subarray(0, IPV4_HEADER_LENGTH + 8);
  const icmp = new Uint8Array(8 + body.length);
  icmp.set(body, 8);
  emitIcmp({ type, code, rest: 0 }, icmp, 0, body.length);
  return ipFrame(e, IPPROTO_ICMP, icmp);
}

function echoRequest(e: Endpoints, id: number): Uint8Array {
  const icmp = new Uint8Array(8 + 16);
  emitIcmp({ type: ICMP_ECHO_REQUEST, code: 0, rest: echoRest(id, 1) }, icmp, 0, 16);
  return ipFrame(e, IPPROTO_ICMP, icmp);
}

const randomFlow = (r: Random): { peer: Ipv4Address; peerPort: number; ourPort: number } => ({
  peer: r.nextU32(),
  peerPort: 1 + r.int(65535),
  ourPort: 1 + r.int(65535),
});

test('a TCP connection: every segment that arrives for it lands on one shard, hashed in packet order; each end predicts its own', () => {
  const s = new Steering(4);
  const shard = s.shardOfFrame(...whole(syn(inbound(), 51000, 80)));
  assert.equal(shard, s.shardOfFlow(US, PEER, 80, 51000), 'the server predicts where its incoming packets go');
  for (const frame of [syn(inbound(), 51000, 80, TCP_ACK), tcpFrame(inbound(), { srcPort: 51000, dstPort: 80, seq: 1001, ack: 7, flags: TCP_ACK, window: 512, urgent: 0 }, new Uint8Array(1000))]) {
    assert.equal(s.shardOfFrame(...whole(frame)), shard, 'later segments follow the SYN');
  }
  assert.equal(s.shardOfFrame(...whole(tagged(syn(inbound(), 51000, 80)))), shard, 'with an 802.1Q tag too');
  // The other direction, as the client's stack receives the SYN-ACK: hashed in its own packet order.
  const synAck = syn(outbound(), 80, 51000, TCP_SYN | TCP_ACK);
  assert.equal(s.shardOfFrame(...whole(synAck)), s.shardOfFlow(PEER, US, 51000, 80));
  // Packet order matters: the hash is not symmetric, so the two directions often differ.
  const r = new Random(7);
  let differ = 0;
  for (let i = 0; i < 200; i++) {
    const f = randomFlow(r);
    if (s.shardOfFlow(US, f.peer, f.ourPort, f.peerPort) !== s.shardOfFlow(f.peer, US, f.peerPort, f.ourPort)) differ++;
  }
  assert.ok(differ > 50, `${differ} of 200 flows steer each direction differently`);
});

test('TCP and UDP flows spread over 2 and 4 shards, each where table[toeplitz(src, dst, sport, dport) & 127] says', () => {
  const seed = seedFromEnv();
  const note = seedNote(seed);
  const r = new Random(seed);
  for (const shards of [2, 4]) {
    const s = new Steering(shards);
    const table = s.table;
    const count = new Array<number>(shards).fill(0);
    const FLOWS = 2000;
    for (let i = 0; i < FLOWS; i++) {
      const f = randomFlow(r);
      const udp = r.chance(0.5);
      const frame = udp ? udpFrame(inbound(f.peer), f.peerPort, f.ourPort, new Uint8Array(20)) : syn(inbound(f.peer), f.peerPort, f.ourPort);
      if (udp && f.peerPort === 67 && f.ourPort === 68) continue; // a DHCP reply: shard 0, tested below
      const got = s.shardOfFrame(...whole(frame));
      assert.equal(got, referenceShard(table, f.peer, US, f.peerPort, f.ourPort), `${udp ? 'UDP' : 'TCP'} flow ${JSON.stringify(f)} ${note}`);
      assert.equal(got, s.shardOfFlow(US, f.peer, f.ourPort, f.peerPort), note);
      count[got]!++;
    }
    for (let k = 0; k < shards; k++) assert.ok(count[k]! > (FLOWS / shards) * 0.8, `${shards} shards: ${count.join(', ')} flows ${note}`);
  }
});

test('a redirection table is checked (128 entries, each a shard below N) and then followed', () => {
  assert.throws(() => new Steering(2, { table: new Uint8Array(128).fill(2) }), { name: 'RangeError', message: /entry 0 is 2: shards are 0\.\.1/ });
  assert.throws(() => new Steering(2, { table: new Uint8Array(64) }), { name: 'RangeError', message: /128 entries, got 64/ });
  assert.throws(() => new Steering(0), RangeError);
  assert.throws(() => new Steering(257), RangeError);
  const s = new Steering(4);
  assert.deepEqual([...s.table.subarray(0, 6)], [0, 1, 2, 3, 0, 1], 'round-robin by default');
  const bad = new Uint8Array(128).fill(1);
  bad[127] = 4;
  assert.throws(() => s.setTable(bad), { name: 'RangeError', message: /entry 127 is 4: shards are 0\.\.3/ });
  assert.deepEqual([...s.table.subarray(0, 6)], [0, 1, 2, 3, 0, 1], 'a refused table changes nothing');
  // All to shard 3: every flow goes there (the table, not the hash, names the shard).
  s.setTable(new Uint8Array(128).fill(3));
  const r = new Random(3);
  for (let i = 0; i < 50; i++) {
    const f = randomFlow(r);
    assert.equal(s.shardOfFrame(...whole(syn(inbound(f.peer), f.peerPort, f.ourPort))), 3);
  }
  const copy = s.table;
  copy.fill(0);
  assert.equal(s.table[0], 3, 'the table getter hands out a copy');
});

test('fragments of one datagram (the first with ports, the rest without) meet on one shard; reassembled, it steers as if it had come whole', () => {
  const seed = seedFromEnv();
  const note = seedNote(seed);
  const r = new Random(seed);
  const s = new Steering(4);
  const table = s.table;
  let portsWouldSplit = 0;
  for (let i = 0; i < 100; i++) {
    const f = randomFlow(r);
    const datagram = udpFrame(inbound(f.peer), f.peerPort, f.ourPort, new Uint8Array(3000).fill(i));
    const frags = fragment(inbound(f.peer), IPPROTO_UDP, ipPayload(datagram), 1480, i);
    assert.equal(frags.length, 3);
    const shards = frags.map((fr) => s.shardOfFrame(...whole(fr)));
    assert.deepEqual(shards, [shards[0], shards[0], shards[0]], `${JSON.stringify(f)} ${note}`);
    assert.equal(shards[0], reference2(table, f.peer, US), 'by the 2-tuple');
    // Forward twice: after reassembly, the 4-tuple, as an unfragmented datagram of the flow.
    const again = s.shardOfDatagram(f.peer, US, IPPROTO_UDP, f.peerPort, f.ourPort);
    if (!(f.peerPort === 67 && f.ourPort === 68)) assert.equal(again, s.shardOfFrame(...whole(datagram)), note);
    if (again !== shards[0]) portsWouldSplit++;
  }
  assert.ok(portsWouldSplit > 30, `the first fragment's ports would have split ${portsWouldSplit} of 100 datagrams`);
  // A TCP datagram too, and other protocols by the 2-tuple.
  assert.equal(s.shardOfDatagram(PEER, US, IPPROTO_TCP, 443, 50000), s.shardOfFrame(...whole(syn(inbound(), 443, 50000))));
  assert.equal(s.shardOfDatagram(PEER, US, IPPROTO_ICMP, 0, 0), reference2(table, PEER, US));
});

test('an ICMP error lands on the shard of the flow it quotes: port unreachable for our UDP datagram, time exceeded for our SYN', () => {
  const seed = seedFromEnv();
  const note = seedNote(seed);
  const r = new Random(seed);
  const s = new Steering(4);
  for (let i = 0; i < 200; i++) {
    const f = randomFlow(r);
    if (f.ourPort === 68 && f.peerPort === 67) continue;
    // We sent a UDP datagram; the peer answers "port unreachable".
    const sent = ipPayloadFrame(udpFrame(outbound(US, f.peer), f.ourPort, f.peerPort, new Uint8Array(10)));
    const unreachable = icmpError(inbound(f.peer), ICMP_DEST_UNREACHABLE, ICMP_PORT_UNREACHABLE, sent);
    const replies = s.shardOfFrame(...whole(udpFrame(inbound(f.peer), f.peerPort, f.ourPort, new Uint8Array(1))));
    assert.equal(s.shardOfFrame(...whole(unreachable)), replies, `${JSON.stringify(f)} ${note}`);
    assert.equal(replies, s.shardOfFlow(US, f.peer, f.ourPort, f.peerPort));
    // A router on the way (another address) says our SYN's time ran out.
    const sentSyn = ipPayloadFrame(syn(outbound(US, f.peer), f.ourPort, f.peerPort));
    const exceeded = icmpError(inbound(parseIpv4('198.51.100.1')), ICMP_TIME_EXCEEDED, 0, sentSyn);
    assert.equal(s.shardOfFrame(...whole(exceeded)), s.shardOfFlow(US, f.peer, f.ourPort, f.peerPort), note);
  }
  // An error about our echo request goes where the echo replies go (2-tuple, peer to us), as echo itself.
  const ping = ipPayloadFrame(echoRequest(outbound(), 9));
  const twoTuple = reference2(s.table, PEER, US);
  assert.equal(s.shardOfFrame(...whole(icmpError(inbound(), ICMP_DEST_UNREACHABLE, 1, ping))), twoTuple);
  assert.equal(s.shardOfFrame(...whole(echoRequest(inbound(), 9))), twoTuple);
  // An error about our DHCP request (68 → 67) goes to shard 0, with DHCP.
  const dhcp = ipPayloadFrame(udpFrame(outbound(US, PEER), 68, 67, new Uint8Array(10)));
  assert.equal(s.shardOfFrame(...whole(icmpError(inbound(), ICMP_DEST_UNREACHABLE, ICMP_PORT_UNREACHABLE, dhcp))), 0);
  // A quote cut short of an IP header is malformed: shard 0.
  const short = icmpError(inbound(), ICMP_DEST_UNREACHABLE, ICMP_PORT_UNREACHABLE, new Uint8Array(12).fill(0x45));
  assert.equal(s.shardOfFrame(...whole(short)), 0);
});

test('ARP and DHCP replies go to shard 0, other broadcast and multicast to every shard, anything not IPv4 to shard 0', () => {
  const s = new Steering(4);
  s.setTable(new Uint8Array(128).fill(3)); // every hash to shard 3: 0 comes from the rules, not by chance
  assert.equal(s.shardOfFrame(...whole(arpRequest(PEER_MAC, PEER, US))), 0, 'an ARP request (broadcast)');
  const reply = new Uint8Array(ETH + ARP_LENGTH);
  emitEthernet({ dst: US_MAC, src: PEER_MAC, ethertype: ETHERTYPE_ARP }, reply, 0);
  emitArp({ op: ARP_OP_REPLY, sha: PEER_MAC, spa: PEER, tha: US_MAC, tpa: US }, reply, ETH);
  assert.equal(s.shardOfFrame(...whole(reply)), 0, 'an ARP reply (unicast)');
  const server = parseIpv4('10.0.0.254');
  const broadcastMac = 0xffff_ffff_ffff;
  assert.equal(s.shardOfFrame(...whole(udpFrame({ ...inbound(server), dstMac: broadcastMac, dst: 0xffff_ffff }, 67, 68, new Uint8Array(300)))), 0, 'a broadcast DHCP offer');
  assert.equal(s.shardOfFrame(...whole(udpFrame(inbound(server), 67, 68, new Uint8Array(300)))), 0, 'a unicast DHCP ack');
  assert.equal(s.shardOfDatagram(server, US, IPPROTO_UDP, 67, 68), 0, 'a reassembled DHCP reply');
  assert.equal(s.shardOfFrame(...whole(udpFrame({ ...inbound(), dstMac: broadcastMac, dst: parseIpv4('10.0.0.255') }, 137, 137, new Uint8Array(50)))), BROADCAST);
  const multicastMac = 0x01_00_5e_00_00_fb;
  assert.equal(s.shardOfFrame(...whole(udpFrame({ ...inbound(), dstMac: multicastMac, dst: parseIpv4('224.0.0.251') }, 5353, 5353, new Uint8Array(50)))), BROADCAST);
  assert.equal(s.shardOfFrame(...whole(echoRequest({ ...inbound(), dstMac: broadcastMac, dst: parseIpv4('10.0.0.255') }, 1))), BROADCAST);
  const v6 = new Uint8Array(ETH + 40);
  emitEthernet({ dst: 0x33_33_00_00_00_01, src: PEER_MAC, ethertype: ETHERTYPE_IPV6 }, v6, 0);
  assert.equal(s.shardOfFrame(...whole(v6)), 0, 'IPv6 (multicast too): not ours yet');
});

test('truncated, garbage and out-of-bounds frames go to shard 0 or a valid answer, and never throw', () => {
  const s = new Steering(4);
  s.setTable(new Uint8Array(128).fill(2));
  const frame = tcpFrame(inbound(), { srcPort: 40000, dstPort: 80, seq: 1, ack: 1, flags: TCP_ACK, window: 100, urgent: 0 }, new Uint8Array(100));
  assert.equal(s.shardOfFrame(...whole(frame)), 2);
  for (let len = 0; len < frame.length; len++) assert.equal(s.shardOfFrame(frame, 0, len), 0, `cut to ${len} bytes`);
  assert.equal(s.shardOfFrame(frame, 0, frame.length + 1), 0, 'longer than the buffer');
  assert.equal(s.shardOfFrame(frame, -1, 10), 0);
  const bad = frame.slice();
  bad[ETH] = 0x44; // IHL 4 words: shorter than a header
  assert.equal(s.shardOfFrame(...whole(bad)), 0);
  bad[ETH] = 0x65; // version 6 in an IPv4 EtherType
  assert.equal(s.shardOfFrame(...whole(bad)), 0);
  // At an offset inside a larger buffer (a ring slot), with bytes around it.
  const slot = new Uint8Array(frame.length + 64).fill(0xff);
  slot.set(frame, 32);
  assert.equal(s.shardOfFrame(slot, 32, frame.length), 2);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(16), fc.integer({ min: -1, max: 1 << 20 }), (bytes, off, linkHash) => {
      const got = s.shardOfFrame(bytes, Math.min(off, bytes.length), Math.max(0, bytes.length - off), linkHash);
      assert.ok(got === BROADCAST || got === 0 || got === 2, `got ${got}`);
    }),
    { numRuns: 5000 },
  );
  // Random bytes behind a valid Ethernet + IPv4 start reach the deeper parsers.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 120 }), fc.constantFrom(IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP), (rest, proto) => {
      const b = new Uint8Array(ETH + rest.length);
      emitEthernet({ dst: US_MAC, src: PEER_MAC, ethertype: ETHERTYPE_IPV4 }, b, 0);
      b.set(rest, ETH);
      b[ETH] = 0x45;
      b[ETH + 9] = proto;
      const got = s.shardOfFrame(b, 0, b.length);
      assert.ok(got === 0 || got === 2, `got ${got}`);
    }),
    { numRuns: 5000 },
  );
});

test('a hash from the link is used for TCP and UDP as it is; ICMP errors and fragments are still hashed here', () => {
  const s = new Steering(4);
  const frame = syn(inbound(), 51000, 80);
  for (const h of [0, 1, 2, 3, 0x7f, 0x80, 0xdead_beef]) assert.equal(s.shardOfFrame(...whole(frame), h), h & 3, `link hash ${h}`);
  const own = s.shardOfFrame(...whole(frame));
  assert.equal(s.shardOfFrame(...whole(frame), -1), own, '-1: no link hash');
  const linkHash = own + 1; // a hash that picks another shard than ours would
  const udp = udpFrame(inbound(), 51000, 53, new Uint8Array(8));
  assert.equal(s.shardOfFrame(...whole(udp), linkHash), linkHash & 3);
  const sent = ipPayloadFrame(udpFrame(outbound(), 51000, 53, new Uint8Array(8)));
  const icmp = icmpError(inbound(), ICMP_DEST_UNREACHABLE, ICMP_PORT_UNREACHABLE, sent);
  assert.equal(s.shardOfFrame(...whole(icmp), 0x1234_5677), s.shardOfFlow(US, PEER, 51000, 53));
  const [first] = fragment(inbound(), IPPROTO_UDP, ipPayload(udpFrame(inbound(), 1, 2, new Uint8Array(100))), 64, 5);
  assert.equal(s.shardOfFrame(...whole(first!), 0x1234_5677), reference2(s.table, PEER, US));
  assert.equal(s.shardOfFrame(...whole(udpFrame(inbound(), 67, 68, new Uint8Array(300))), 3), 0, 'DHCP stays on shard 0');
});

test("a shard's connects take only ports whose replies steer back to it, still moving forward per destination (Algorithm 4)", () => {
  const seed = seedFromEnv();
  const note = seedNote(seed);
  const RANGE = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
  const SHARDS = 4;
  const s = new Steering(SHARDS);
  for (let k = 0; k < SHARDS; k++) {
    const ports = new EphemeralPorts(new Random(seed + k), s.portFilter(k));
    const used = new Set<number>();
    const got: number[] = [];
    for (let i = 0; i < 300; i++) {
      const p = ports.choose(US, PEER, 443, (port) => !used.has(port));
      got.push(p);
      used.add(p);
      assert.equal(s.shardOfFlow(US, PEER, p, 443), k, `shard ${k}: port ${p} steers elsewhere ${note}`);
      // What the peer sends back on that connection is steered here.
      assert.equal(s.shardOfFrame(...whole(syn(inbound(), 443, p, TCP_SYN | TCP_ACK))), k);
    }
    // Forward round the range, by small steps (about SHARDS ports apart), never back.
    let steps = 0;
    for (let i = 1; i < got.length; i++) {
      const step = (got[i]! - got[i - 1]! + RANGE) % RANGE;
      assert.ok(step >= 1 && step < 20 * SHARDS, `shard ${k}: ${got[i]} after ${got[i - 1]} ${note}`);
      steps += step;
    }
    assert.ok(steps < RANGE, 'never round the whole range');
    // A freed port comes back only after the counter has been round: the next one is still ahead.
    used.delete(got[0]!);
    const next = ports.choose(US, PEER, 443, (port) => !used.has(port));
    assert.ok((next - got.at(-1)! + RANGE) % RANGE < 20 * SHARDS, `shard ${k}: ${next} after ${got.at(-1)} ${note}`);
  }
  // No filter: any free port, as before (steps of 1..4).
  const plain = new EphemeralPorts(new Random(seed));
  const a = plain.choose(US, PEER, 443, () => true);
  const b = plain.choose(US, PEER, 443, (p) => p !== a);
  assert.ok(((b - a + RANGE) % RANGE) >= 1 && ((b - a + RANGE) % RANGE) <= 4, note);
});

test("with every one of its ports in use, a shard's connect fails with EADDRNOTAVAIL though other shards' ports are free", () => {
  const seed = seedFromEnv();
  const note = seedNote(seed);
  const SHARDS = 4;
  const K = 1;
  const s = new Steering(SHARDS);
  const raw = new Raw(seed);
  const host = A_ADDR;
  let mine = 0;
  for (let p = EPHEMERAL_LOW; p <= EPHEMERAL_HIGH; p++) if (s.shardOfFlow(host, B_ADDR, p, 9) === K) mine++;
  assert.ok(mine > 6000 && mine < 8200, `${mine} of the range steer to shard ${K}`);
  // The chooser alone: it says none once those are taken, after one bounded pass.
  const chooser = new EphemeralPorts(new Random(seed), s.portFilter(K));
  const held = new Set<number>();
  for (;;) {
    const p = chooser.choose(host, B_ADDR, 9, (port) => !held.has(port));
    if (p === 0) break;
    held.add(p);
  }
  assert.equal(held.size, mine, note);
  // Through TCP: connections to a peer that never answers hold their ports in SYN_SENT.
  const tcp = new Tcp({ ...raw.host.env, ephemeralPorts: new EphemeralPorts(new Random(seed), s.portFilter(K)) });
  const conns = [];
  for (let i = 0; i < mine; i++) conns.push(tcp.connect({ dst: B_ADDR, dstPort: 9 }));
  assert.equal(new Set(conns.map((c) => c.localPort)).size, mine, 'each of the shard\'s ports handed out once');
  let error: string | undefined;
  const last = tcp.connect({ dst: B_ADDR, dstPort: 9 });
  last.onClose = (e) => (error = e?.code);
  tcp.flush();
  assert.equal(error, 'EADDRNOTAVAIL', note);
  conns[0]!.abort();
  const again = tcp.connect({ dst: B_ADDR, dstPort: 9 });
  assert.equal(again.localPort, conns[0]!.localPort, 'the freed port is the one left');
  tcp.clear();
});

/** The arguments for `shardOfFrame` that cover all of `frame`. */
function whole(frame: Uint8Array): [Uint8Array, number, number] {
  return [frame, 0, frame.length];
}

/** The frame with an 802.1Q tag (VLAN 5) inserted after the MAC addresses. */
function tagged(frame: Uint8Array): Uint8Array {
  const b = new Uint8Array(frame.length + 4);
  b.set(frame.subarray(0, 12));
  writeU16(b, 12, ETHERTYPE_VLAN);
  writeU16(b, 14, 5);
  b.set(frame.subarray(12), 16);
  return b;
}

/** The IP datagram inside a whole frame (what an ICMP error quotes). */
function ipPayloadFrame(frame: Uint8Array): Uint8Array {
  return frame.subarray(ETH);
}
