/** Scenarios for L2, ARP, IPv4 (fragments), ICMP and UDP between two Shoal stacks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, IP_A, IP_B } from './net.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import type { Datagram } from '../../src/stack/udp.js';

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

test('ARP resolves on first use, the ping is answered, and the gratuitous ARP taught B our address', () => {
  const n = twoStacks();
  const replies: number[] = [];
  n.a.icmp.onEchoReply = (src, id, seq) => replies.push(src === IP_B ? seq : -1, id);
  assert.ok(n.a.icmp.sendEcho(IP_B, 7, 1, pattern(56)));
  assert.ok(n.run(() => replies.length > 0, 1000));
  assert.deepEqual(replies, [1, 7]);
  // B learned A from A's gratuitous ARP at start: it did not need to ask.
  assert.equal(n.b.arp.counters.txRequests, 1, 'only its own announcement');
  assert.equal(n.a.arp.counters.txRequests, 2, 'announcement + one request for B');
  assert.equal(n.b.icmp.counters.outEchoReps, 1);
});

test('8,000-byte pings are fragmented both ways and reassembled, data intact', () => {
  const n = twoStacks();
  const data = pattern(8000);
  let got: Uint8Array | null = null;
  n.a.icmp.onEchoReply = (_src, _id, _seq, payload) => (got = payload);
  n.a.icmp.sendEcho(IP_B, 1, 1, data);
  assert.ok(n.run(() => got !== null, 1000));
  assert.deepEqual(got, data);
  assert.equal(n.a.ipv4.counters.fragOks, 1);
  assert.equal(n.a.ipv4.counters.fragCreates, 6, '8008 bytes of ICMP in 1480-byte pieces');
  assert.equal(n.b.ipv4.counters.reasmOks, 1);
  assert.equal(n.b.ipv4.counters.fragOks, 1, 'the reply is fragmented too');
  assert.equal(n.a.ipv4.counters.reasmOks, 1);
  n.run(undefined, 10);
  assert.equal(n.a.pool.inUse + n.b.pool.inUse + n.devA.pool.inUse + n.devB.pool.inUse, 0, 'every frame back in its pool');
});

test('short of receive frames, fragments and ping data are copied out of their frames; the 8,000-byte ping still comes back whole', () => {
  // B's receive pool keeps all its free frames for the ring: B must not hold any of them.
  const n = twoStacks({ device: { rxCsumL4: false } });
  const data = pattern(8000);
  let got: Uint8Array | null = null;
  n.a.icmp.onEchoReply = (_src, _id, _seq, payload) => (got = payload);
  n.devB.pool.reserve = n.devB.pool.slotCount;
  n.a.icmp.sendEcho(IP_B, 1, 1, data);
  assert.ok(n.run(() => got !== null, 1000));
  assert.deepEqual(got, data);
  assert.equal(n.b.ipv4.counters.reasmPressureCopies, 6, 'each fragment was kept as a copy');
  assert.equal(n.b.ipv4.counters.reasmOks, 1);
  n.run(undefined, 10);
  assert.equal(n.devB.pool.inUse + n.b.pool.inUse, 0, 'every frame back in its pool');
});

test('a host that does not answer ARP: retries, then the failure is counted and the packets dropped', () => {
  const n = twoStacks();
  const absent = parseIpv4('10.0.0.9');
  for (let i = 0; i < 3; i++) n.a.icmp.sendEcho(absent, 1, i, pattern(10));
  n.run(undefined, 10_000);
  assert.equal(n.a.arp.counters.failed, 1);
  assert.equal(n.a.arp.counters.txRequests, 1 + 3, 'announcement + 3 tries');
  assert.equal(n.a.arp.counters.queueDrops, 3);
  // RFC 826: an announcement only refreshes a known entry, so A never learned B.
  assert.equal(n.a.arp.size, 0, 'the failed entry is gone');
  assert.equal(n.a.pool.inUse, 0);
});

/** A ping from A to B, so that both have resolved each other. */
function warmUp(n: TwoStacks): void {
  let done = false;
  n.a.icmp.onEchoReply = () => (done = true);
  n.a.icmp.sendEcho(IP_B, 0, 0, new Uint8Array(0));
  assert.ok(n.run(() => done, 1000));
  n.a.icmp.onEchoReply = null;
}

test('UDP: 60 KB datagrams both ways, through fragmentation and reassembly', () => {
  const n = twoStacks();
  warmUp(n);
  const sa = n.a.udp.open().bind(5000);
  const sb = n.b.udp.open().bind(6000);
  const got: Datagram[] = [];
  sb.onMessage = (d) => {
    got.push(d);
    sb.send(d.data, d.port, d.address);
  };
  const back: Datagram[] = [];
  sa.onMessage = (d) => back.push(d);
  const data = [pattern(60_000, 1), pattern(65_507, 2), pattern(1, 3), pattern(0, 4)];
  for (const d of data) sa.send(d, 6000, IP_B);
  assert.ok(n.run(() => back.length === data.length, 2000));
  assert.deepEqual(got.map((d) => d.data), data);
  assert.deepEqual(back.map((d) => d.data), data);
  assert.equal(got[0]!.address, IP_A);
  assert.equal(got[0]!.port, 5000);
  assert.throws(() => sa.send(new Uint8Array(65_508), 6000, IP_B), /at most 65507/);
  assert.throws(() => n.a.udp.open().bind(5000), /in use/);
});

test('UDP without a listener: ICMP port unreachable comes back, rate-limited', () => {
  const n = twoStacks();
  warmUp(n);
  const s = n.a.udp.open().bind();
  for (let i = 0; i < 200; i++) s.send(pattern(20), 9999, IP_B);
  n.run(undefined, 100);
  assert.equal(n.b.udp.counters.noPorts, 200);
  assert.equal(n.b.icmp.counters.outDestUnreachs, 50, 'a burst of 50, then the rate limit');
  assert.equal(n.b.icmp.counters.rateLimited, 150);
  assert.equal(n.a.icmp.counters.inDestUnreachs, 50);
});

test('corrupted UDP is caught by its checksum and counted, never delivered', () => {
  const n = twoStacks({ seed: 3, device: { rxCsumL4: false } });
  warmUp(n);
  n.wire.aToB.setFaults({ corrupt: 1 });
  const sb = n.b.udp.open().bind(6000);
  const sa = n.a.udp.open().bind(5000);
  // 300,000 bytes queued at once: more than the default send buffer (212,992) holds.
  sa.setSendBufferSize(200_000);
  for (let i = 0; i < 300; i++) assert.ok(sa.send(pattern(1000, i), 6000, IP_B));
  n.run(undefined, 1000);
  const c = n.b.counters();
  const caught = c.udp.inCsumErrors + c.ipv4.inCsumErrors + c.ipv4.inHdrErrors + c.ipv4.inTruncated + c.ipv4.inAddrErrors + c.link.rxOtherHost + c.link.rxUnknownType + c.udp.inErrors + c.udp.noPorts + c.arp.rxMalformed;
  // Every datagram had one byte flipped: none may arrive intact-looking unless the flip hit
  // a byte no check covers (the source MAC address, 6 of 1042 bytes).
  assert.ok(sb.queued <= 10, `at most a few flips in unchecked bytes, got ${sb.queued}`);
  assert.ok(c.udp.inCsumErrors > 250, `UDP checksum caught most: ${c.udp.inCsumErrors}`);
  assert.ok(caught + sb.queued >= 295, `${caught} caught + ${sb.queued} delivered of 300`);
});

test('hostile fragments: overlaps and oversized datagrams are dropped and counted', () => {
  const n = twoStacks();
  const ip = n.b.ipv4;
  // Overlapping: a second fragment that starts inside the first.
  const send = (offset: number, len: number, mf: boolean, id: number) => injectFragment(n, id, offset, len, mf);
  send(0, 800, true, 1);
  send(400, 800, false, 1);
  // Oversized: a last fragment that ends past 65,535 bytes.
  send(65_528, 800, false, 2);
  // A clean pair, to show reassembly still works after the attack.
  send(0, 800, true, 3);
  send(800, 100, false, 3);
  n.run(undefined, 100);
  assert.equal(ip.counters.reasmOverlaps, 1);
  assert.equal(ip.counters.reasmOversize, 1);
  assert.equal(ip.counters.reasmOks, 1);
  assert.equal(ip.reassembly.pending, 0);
});

test('a fragment flood stays under the reassembly memory limit, and times out after 30 s', () => {
  const n = twoStacks();
  for (let id = 0; id < 3000; id++) injectFragment(n, id, 0, 1000, true);
  n.run(undefined, 100);
  const ip = n.b.ipv4;
  assert.ok(ip.reassembly.memory <= 2 << 20, `memory ${ip.reassembly.memory}`);
  assert.equal(ip.reassembly.pending, 1024, 'at most 1024 datagrams held');
  assert.equal(ip.counters.reasmMemoryDrops, 3000 - 1024);
  assert.equal(n.devB.pool.inUse, 1024, 'only the frames held for reassembly');
  n.run(undefined, 31_000);
  assert.equal(ip.reassembly.pending, 0);
  assert.equal(ip.counters.reasmTimeouts, 1024);
  assert.equal(n.devB.pool.inUse, 0);
});

test('frames for another MAC address and unknown EtherTypes are counted and dropped', () => {
  const n = twoStacks();
  n.run(undefined, 10);
  const q = n.devB.queues[0]!;
  const frame = (dst: number, type: number) => {
    const b = new Uint8Array(60);
    for (let i = 0; i < 6; i++) b[i] = Math.floor(dst / 2 ** (8 * (5 - i))) & 0xff;
    b[12] = type >>> 8;
    b[13] = type & 0xff;
    return b;
  };
  injectRaw(n, frame(0x02_00_00_00_00_99, 0x0800));
  injectRaw(n, frame(0x02_00_00_00_00_02, 0x86dd));
  n.run(undefined, 10);
  // A runt never leaves a NIC; handed to the stack directly, it is counted too.
  n.b.iface.receiveBurst([Packet.wrap(new Uint8Array(5))], 1);
  const c = n.b.counters().link;
  assert.equal(c.rxOtherHost, 1);
  assert.equal(c.rxUnknownType, 1);
  assert.equal(c.rxTruncated, 1);
  assert.ok(q.stats.rxFrames >= 3);
});

// --- helpers: frames put on A's side of the wire, as if A had sent them ---

import { Packet } from '../../src/packet/packet.js';
import { emitIpv4Header, IPPROTO_UDP } from '../../src/wire/ipv4.js';
import type { TwoStacks } from './net.js';

function injectRaw(n: TwoStacks, bytes: Uint8Array): void {
  const q = n.devA.queues[0]!;
  let sent = false;
  const provider = () => {
    if (sent) return null;
    sent = true;
    return Packet.wrap(bytes);
  };
  q.addProvider(provider);
  n.loop.runOnce();
  q.removeProvider(provider);
}

function injectFragment(n: TwoStacks, id: number, offset: number, len: number, mf: boolean): void {
  const b = new Uint8Array(14 + 20 + len);
  b.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
  emitIpv4Header({ dscp: 0, ecn: 0, totalLength: 20 + len, id, df: false, mf, fragmentOffset: offset, ttl: 64, protocol: IPPROTO_UDP, src: IP_A, dst: IP_B }, b, 14);
  injectRaw(n, b);
}

test('reassembly: a last fragment that ends before a piece already held drops the datagram (no gaps delivered)', () => {
  const n = twoStacks();
  const s = n.b.udp.open().bind(7777);
  injectFragment(n, 5, 0, 8, true);
  injectFragment(n, 5, 24, 8, true);
  injectFragment(n, 5, 16, 8, false);
  n.run(undefined, 10);
  assert.equal(s.queued, 0);
  assert.equal(n.b.ipv4.counters.reasmOks, 0);
  assert.equal(n.b.ipv4.counters.reasmFails, 1);
  assert.equal(n.b.ipv4.reassembly.pending, 0);
});

test('martian sources are dropped: no reply or error is ever sent to a broadcast', () => {
  const n = twoStacks();
  n.run(undefined, 10);
  const echoFrom = (src: number) => {
    const b = new Uint8Array(14 + 20 + 8);
    b.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
    emitIpv4Header({ dscp: 0, ecn: 0, totalLength: 28, id: 1, df: false, mf: false, fragmentOffset: 0, ttl: 64, protocol: 1, src, dst: IP_B }, b, 14);
    b[34] = 8;
    b[36] = 0xf7; // checksum of an echo request with id 0, seq 0
    b[37] = 0xff;
    injectRaw(n, b);
  };
  for (const src of ['255.255.255.255', '10.0.0.255', '224.0.0.1', '127.0.0.1', '10.0.0.2', '0.0.0.0']) echoFrom(parseIpv4(src));
  echoFrom(IP_A);
  n.run(undefined, 10);
  assert.equal(n.b.ipv4.counters.inMartians, 6);
  assert.equal(n.b.icmp.counters.outEchoReps, 1, 'only the ping from a real host is answered');
});

test('a datagram that came as a link-layer broadcast gets no ICMP error', () => {
  const n = twoStacks();
  n.run(undefined, 10);
  const b = new Uint8Array(14 + 20 + 8 + 4);
  b.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
  emitIpv4Header({ dscp: 0, ecn: 0, totalLength: 32, id: 1, df: false, mf: false, fragmentOffset: 0, ttl: 64, protocol: IPPROTO_UDP, src: IP_A, dst: IP_B }, b, 14);
  b.set([0x13, 0x88, 0x27, 0x0f, 0, 12, 0, 0], 34);
  injectRaw(n, b);
  n.run(undefined, 10);
  assert.equal(n.b.udp.counters.noPorts, 1);
  assert.equal(n.b.icmp.counters.outDestUnreachs, 0);
});

test('a closed stack lets go of everything, and frames that still arrive are released', () => {
  const n = twoStacks();
  n.a.icmp.sendEcho(parseIpv4('10.0.0.77'), 1, 1, new Uint8Array(100));
  n.run(undefined, 10);
  n.b.close();
  n.a.icmp.sendEcho(IP_B, 1, 2, new Uint8Array(100));
  n.run(undefined, 10);
  n.a.close();
  n.run(undefined, 10_000);
  assert.equal(n.loop.timers.size, 0, 'no timer left');
  assert.equal(n.a.pool.inUse + n.b.pool.inUse + n.devA.pool.inUse + n.devB.pool.inUse, 0, 'every frame back');
});

test('the IPv4 header lands right even in front of a packet with no headroom', () => {
  const n = twoStacks();
  n.run(undefined, 10);
  const got: Uint8Array[] = [];
  n.b.udp.open().bind(9).onMessage = (d) => got.push(d.data);
  // A UDP datagram as a zero-copy sender would hand it: the caller's buffer, no headroom.
  const udp = new Uint8Array([0x13, 0x88, 0, 9, 0, 11, 0, 0, 1, 2, 3]);
  const p = Packet.wrap(udp);
  // A has not resolved B yet: the datagram waits for ARP, then goes.
  assert.equal(n.a.ipv4.output(p, IPPROTO_UDP, { src: IP_A, dst: IP_B, df: false, tos: 0, ttl: 0 }, n.clock.now()), null);
  n.run(undefined, 10);
  assert.deepEqual(got, [Uint8Array.from([1, 2, 3])]);
});

test('a packet filter claims datagrams before the stack looks at addresses (as DHCP will, with no address yet)', () => {
  const n = twoStacks();
  n.b.setAddress(0, 0);
  const claimed: number[] = [];
  n.b.ipv4.addFilter((p, h) => {
    if (h.protocol !== IPPROTO_UDP) return false;
    claimed.push(h.dst);
    p.release();
    return true;
  });
  const b = new Uint8Array(14 + 20 + 8);
  b.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
  emitIpv4Header({ dscp: 0, ecn: 0, totalLength: 28, id: 1, df: false, mf: false, fragmentOffset: 0, ttl: 64, protocol: IPPROTO_UDP, src: 0, dst: 0xffff_ffff }, b, 14);
  b.set([0, 67, 0, 68, 0, 8, 0, 0], 34);
  injectRaw(n, b);
  n.run(undefined, 10);
  assert.deepEqual(claimed, [0xffff_ffff]);
  assert.equal(n.b.ipv4.counters.inAddrErrors, 0);
});

test('IPv4: IDs change per datagram; UDP with checksum 0 (none) is accepted', () => {
  const n = twoStacks();
  warmUp(n);
  const ids: number[] = [];
  n.b.ipv4.addFilter((_p, h) => (ids.push(h.id), false));
  const got: Uint8Array[] = [];
  n.b.udp.open().bind(9).onMessage = (d) => got.push(d.data);
  const s = n.a.udp.open().bind(5000);
  for (let i = 0; i < 3; i++) s.send(new Uint8Array([i]), 9, IP_B);
  n.run(undefined, 10);
  assert.equal(new Set(ids).size, 3, `distinct IDs ${ids}`);
  const frame = new Uint8Array(14 + 20 + 9);
  frame.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
  emitIpv4Header({ dscp: 0, ecn: 0, totalLength: 29, id: 1, df: false, mf: false, fragmentOffset: 0, ttl: 64, protocol: IPPROTO_UDP, src: IP_A, dst: IP_B }, frame, 14);
  frame.set([0x13, 0x88, 0, 9, 0, 9, 0, 0, 42], 34);
  injectRaw(n, frame);
  n.run(undefined, 10);
  assert.deepEqual(got.map((d) => d[0]), [0, 1, 2, 42]);
});

test('ARP: the cache is bounded and resolved entries age out', () => {
  const n = twoStacks({ stack: { arp: { cacheSize: 4, reachableMs: 1000 } } });
  for (let i = 0; i < 10; i++) n.a.arp.learn(parseIpv4(`10.0.0.${100 + i}`), 0x02_00_00_00_01_00 + i, n.clock.now());
  assert.equal(n.a.arp.size, 4, 'the oldest were evicted');
  assert.equal(n.a.arp.counters.evicted, 6);
  assert.equal(n.a.arp.lookup(parseIpv4('10.0.0.109'), n.clock.now()), 0x02_00_00_00_01_09);
  n.run(undefined, 1500);
  assert.equal(n.a.arp.lookup(parseIpv4('10.0.0.109'), n.clock.now()), -1, 'aged out');
});

test('routing: off-link destinations go to the gateway; with no gateway there is no route', () => {
  const n = twoStacks({ stack: { gateway: '10.0.0.2' } });
  const far = parseIpv4('192.168.7.7');
  const s = n.a.udp.open().bind(5000);
  s.send(new Uint8Array([1]), 9, far);
  n.run(undefined, 10);
  // B is the next hop: the frame reached it (by its MAC), addressed to 192.168.7.7, and
  // a host does not forward.
  assert.equal(n.b.ipv4.counters.inAddrErrors, 1);
  // A datagram queued while the route was there, and the route gone before it leaves:
  // IPv4 finds no route and counts it; a new send is refused at once (Linux ENETUNREACH).
  s.send(new Uint8Array([2]), 9, far);
  n.a.setAddress(IP_A, 24, 0);
  n.run(undefined, 10);
  assert.equal(n.a.ipv4.counters.outNoRoutes, 1);
  assert.throws(() => s.send(new Uint8Array([3]), 9, far), { code: 'ENETUNREACH' });
});

test('UDP: a connected socket takes datagrams only from its peer', () => {
  const n = twoStacks();
  warmUp(n);
  const got: number[] = [];
  const sb = n.b.udp.open().connect(IP_A, 5000);
  sb.onMessage = (d) => got.push(d.data[0]!);
  const from5000 = n.a.udp.open().bind(5000);
  const from5001 = n.a.udp.open().bind(5001);
  from5000.send(new Uint8Array([1]), sb.localPort, IP_B);
  from5001.send(new Uint8Array([2]), sb.localPort, IP_B);
  sb.send(new Uint8Array([3]));
  let back = -1;
  from5000.onMessage = (d) => (back = d.data[0]!);
  n.run(undefined, 10);
  assert.deepEqual(got, [1]);
  assert.equal(back, 3);
});

test('TCP sent to a broadcast address gets no RST (RFC 1122 §4.2.3.10)', () => {
  const n = twoStacks();
  n.run(undefined, 10);
  for (const [mac, dst] of [[[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], IP_B], [[0x02, 0, 0, 0, 0, 0x02], parseIpv4('10.0.0.255')]] as const) {
    const b = new Uint8Array(14 + 20 + 20);
    b.set([...mac, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
    emitIpv4Header({ dscp: 0, ecn: 0, totalLength: 40, id: 1, df: false, mf: false, fragmentOffset: 0, ttl: 64, protocol: 6, src: IP_A, dst }, b, 14);
    b.set([0x13, 0x88, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff], 34);
    injectRaw(n, b);
  }
  n.run(undefined, 10);
  assert.equal(n.b.ipv4.counters.inAddrErrors, 2);
  assert.equal(n.b.tcp.counters.resetsSent, 0);
});
