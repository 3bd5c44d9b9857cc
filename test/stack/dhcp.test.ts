/** The DHCP client (RFC 2131) against a scripted server on the other stack of a memory wire, in virtual time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, IP_B, type TwoStacks } from './net.js';
import { IPV4_BROADCAST, parseIpv4, type Ipv4Address } from '../../src/wire/addr.js';
import { IPPROTO_UDP } from '../../src/wire/ipv4.js';
import {
  BOOTP_REPLY, DHCPACK, DHCPDECLINE, DHCPDISCOVER, DHCPNAK, DHCPOFFER, DHCPRELEASE, DHCPREQUEST, dhcpMessageLength, emitDhcp, parseDhcp, type DhcpMessage,
} from '../../src/wire/dhcp.js';
import { DhcpClient } from '../../src/stack/dhcp.js';

const OFFERED = parseIpv4('10.0.0.50');
const MASK = parseIpv4('255.255.255.0');

interface Seen {
  m: DhcpMessage;
  src: Ipv4Address;
  dst: Ipv4Address;
  at: number;
}

/** What the script answers to a client message: a reply, raw bytes, or nothing. */
type Script = (m: DhcpMessage, n: number) => DhcpMessage | Uint8Array | null;

/** A tiny DHCP server on stack B: an IPv4 filter for UDP to port 67; replies broadcast (or unicast to ciaddr). */
function server(net: TwoStacks, script: Script): Seen[] {
  const seen: Seen[] = [];
  net.b.ipv4.addFilter((p, h) => {
    if (h.protocol !== IPPROTO_UDP) return false;
    const bytes = p.toBytes().subarray(h.headerLength);
    if (((bytes[2]! << 8) | bytes[3]!) !== 67) return false;
    p.release();
    const m = parseDhcp(bytes, 8, bytes.length - 8);
    assert.equal(typeof m, 'object', `the client sent a malformed message: ${String(m)}`);
    const msg = m as DhcpMessage;
    seen.push({ m: msg, src: h.src, dst: h.dst, at: net.clock.now() });
    const r = script(msg, seen.length);
    if (r === null) return true;
    let out: Uint8Array;
    if (r instanceof Uint8Array) out = r;
    else {
      out = new Uint8Array(dhcpMessageLength(r));
      emitDhcp(r, out, 0);
    }
    const to = msg.ciaddr !== 0 && !msg.broadcast ? msg.ciaddr : IPV4_BROADCAST;
    net.b.udp.sendFrom(out, IP_B, 67, to, 68);
    return true;
  });
  return seen;
}

function reply(m: DhcpMessage, type: number, lease = 60): DhcpMessage {
  return {
    op: BOOTP_REPLY, htype: 1, hlen: 6, hops: 0, xid: m.xid, secs: 0, broadcast: m.broadcast,
    ciaddr: m.ciaddr, yiaddr: type === DHCPNAK ? 0 : OFFERED, siaddr: 0, giaddr: 0, chaddr: m.chaddr,
    messageType: type, serverId: IP_B, subnetMask: MASK, routers: [IP_B], leaseTime: lease,
  };
}

/** A well-behaved server: OFFER for DISCOVER, ACK for REQUEST. */
const normal: Script = (m) => reply(m, m.messageType === DHCPDISCOVER ? DHCPOFFER : DHCPACK);

function setup(): TwoStacks {
  const net = twoStacks();
  net.a.setAddress(0, 0);
  return net;
}

test('DHCP: DISCOVER, OFFER, REQUEST, ACK from 0.0.0.0 to the broadcast address; the address, prefix and router are set', () => {
  const net = setup();
  const seen = server(net, normal);
  const bound: number[] = [];
  const dhcp = new DhcpClient(net.a, { onBound: (l) => bound.push(l.address) });
  dhcp.start();
  assert.ok(net.run(() => dhcp.state === 'BOUND', 10_000));
  assert.deepEqual(bound, [OFFERED]);
  assert.equal(net.a.address, OFFERED);
  assert.equal(net.a.ipv4.prefix, 24);
  assert.equal(net.a.ipv4.gateway, IP_B);
  assert.deepEqual(seen.map((s) => s.m.messageType), [DHCPDISCOVER, DHCPREQUEST]);
  for (const s of seen) {
    assert.equal(s.src, 0);
    assert.equal(s.dst, IPV4_BROADCAST);
    assert.equal(s.m.broadcast, true);
    assert.equal(s.m.ciaddr, 0);
    assert.equal(s.m.chaddr, net.devA.mac);
    assert.deepEqual([...s.m.clientId!], [1, 2, 0, 0, 0, 0, 1]);
    assert.deepEqual(s.m.parameterRequestList, [1, 3, 6, 15, 26, 51, 58, 59]);
  }
  // §4.3.2 SELECTING: the REQUEST names the offer and its server, with the offer's xid.
  assert.equal(seen[1]!.m.requestedIp, OFFERED);
  assert.equal(seen[1]!.m.serverId, IP_B);
  assert.equal(seen[1]!.m.xid, seen[0]!.m.xid);
  assert.equal(dhcp.counters.acks, 1);
  dhcp.stop();
  assert.equal(net.a.address, 0);
});

test('DHCP: renewal at T1 is a unicast REQUEST with ciaddr; the ACK moves the expiry', () => {
  const net = setup();
  const seen = server(net, normal);
  const dhcp = new DhcpClient(net.a);
  dhcp.start();
  assert.ok(net.run(() => dhcp.state === 'BOUND', 10_000));
  const first = dhcp.lease!;
  assert.equal(first.renewAt - first.expiresAt, -30_000);
  net.run(() => seen.length === 3, 40_000);
  const renew = seen[2]!;
  assert.equal(renew.at, first.renewAt);
  assert.equal(renew.m.messageType, DHCPREQUEST);
  assert.equal(renew.m.ciaddr, OFFERED);
  assert.equal(renew.src, OFFERED);
  assert.equal(renew.dst, IP_B);
  assert.equal(renew.m.requestedIp, undefined);
  assert.equal(renew.m.serverId, undefined);
  net.run(() => dhcp.state === 'BOUND' && dhcp.counters.acks === 2, 5_000);
  assert.equal(dhcp.lease!.expiresAt, renew.at + 60_000);
  assert.equal(net.a.address, OFFERED);
});

test('DHCP: a NAK sends the client back to INIT (while requesting, and while renewing with the address dropped)', () => {
  const net = setup();
  const seen = server(net, (m, n) => (m.messageType === DHCPREQUEST && (n === 2 || n === 5) ? reply(m, DHCPNAK) : normal(m, n)));
  const lost: string[] = [];
  const dhcp = new DhcpClient(net.a, { onLost: (why) => lost.push(why) });
  dhcp.start();
  assert.ok(net.run(() => dhcp.state === 'BOUND', 10_000));
  assert.deepEqual(seen.map((s) => s.m.messageType), [DHCPDISCOVER, DHCPREQUEST, DHCPDISCOVER, DHCPREQUEST]);
  assert.notEqual(seen[2]!.m.xid, seen[0]!.m.xid);
  assert.equal(dhcp.counters.naks, 1);
  assert.deepEqual(lost, []);
  // The renewal (message 5) is NAKed: the address goes, and a new DISCOVER follows at once.
  let addressAfterNak = -1;
  net.run(() => {
    if (dhcp.counters.naks === 2 && addressAfterNak < 0) addressAfterNak = net.a.address;
    return seen.length === 6;
  }, 40_000);
  assert.equal(addressAfterNak, 0);
  assert.deepEqual(lost, ['nak']);
  assert.equal(seen[5]!.m.messageType, DHCPDISCOVER);
  assert.equal(seen[5]!.at, seen[4]!.at);
});

test('DHCP: without answers, DISCOVER is retransmitted after 4, 8, 16, 32, 64, 64 s, each ±1 s', () => {
  const net = setup();
  const seen = server(net, () => null);
  const dhcp = new DhcpClient(net.a);
  dhcp.start();
  net.run(() => seen.length === 7, 300_000);
  assert.equal(seen.length, 7);
  const gaps = seen.slice(1).map((s, i) => s.at - seen[i]!.at);
  [4, 8, 16, 32, 64, 64].forEach((base, i) => {
    assert.ok(Math.abs(gaps[i]! - base * 1000) <= 1000, `gap ${i}: ${gaps[i]} ms, not ${base} s ±1`);
  });
  // Randomized: not all exactly on the base.
  assert.ok(gaps.some((g, i) => g !== [4, 8, 16, 32, 64, 64][i]! * 1000));
  assert.equal(dhcp.state, 'SELECTING');
  assert.equal(dhcp.counters.retransmits, 6);
});

test('DHCP: a lease nobody renews: REBINDING broadcast at T2, the address dropped at the end, then DISCOVER again', () => {
  const net = setup();
  const seen = server(net, (m, n) => (n <= 2 ? normal(m, n) : null));
  const lost: string[] = [];
  const dhcp = new DhcpClient(net.a, { onLost: (why) => lost.push(why) });
  dhcp.start();
  assert.ok(net.run(() => dhcp.state === 'BOUND', 10_000));
  const l = dhcp.lease!;
  net.run(() => dhcp.state === 'REBINDING', 60_000);
  assert.equal(net.clock.now(), l.rebindAt);
  assert.equal(net.a.address, OFFERED);
  net.run(() => net.a.address === 0, 60_000);
  assert.equal(net.clock.now(), l.expiresAt);
  assert.deepEqual(lost, ['expired']);
  assert.equal(dhcp.state, 'SELECTING');
  net.run(() => seen.at(-1)!.m.messageType === DHCPDISCOVER, 1_000);
  const types = seen.map((s) => [s.m.messageType, s.src, s.dst, s.at - l.renewAt]);
  // The renewal at T1 (unicast), the rebinding at T2 (broadcast, from our address), the new DISCOVER.
  assert.deepEqual(types.slice(2), [
    [DHCPREQUEST, OFFERED, IP_B, 0],
    [DHCPREQUEST, OFFERED, IPV4_BROADCAST, l.rebindAt - l.renewAt],
    [DHCPDISCOVER, 0, IPV4_BROADCAST, l.expiresAt - l.renewAt],
  ]);
  assert.equal(dhcp.counters.expired, 1);
});

test('DHCP: malformed replies are counted and dropped; the exchange goes on', () => {
  const net = setup();
  const bad: Uint8Array[] = [];
  const seen = server(net, (m, n) => {
    if (n > 1) return normal(m, n);
    const good = new Uint8Array(dhcpMessageLength(reply(m, DHCPOFFER)));
    emitDhcp(reply(m, DHCPOFFER), good, 0);
    const cookie = good.slice();
    cookie[236] = 0; // not the magic cookie
    const option = good.slice();
    option[240 + 3] = 1; // after option 53: option 1 with a length running past the end
    option[240 + 4] = 255;
    const notReply = good.slice();
    notReply[0] = 1; // BOOTREQUEST
    bad.push(good.subarray(0, 100), cookie, option, notReply);
    for (const b of bad) net.b.udp.sendFrom(b, IP_B, 67, IPV4_BROADCAST, 68);
    return null;
  });
  const dhcp = new DhcpClient(net.a);
  dhcp.start();
  assert.ok(net.run(() => dhcp.state === 'BOUND', 20_000));
  assert.equal(dhcp.counters.malformed, 4);
  assert.equal(dhcp.counters.offers, 1);
  assert.equal(seen[0]!.m.messageType, DHCPDISCOVER);
  assert.equal(seen[1]!.m.messageType, DHCPDISCOVER);
  assert.equal(net.a.address, OFFERED);
});

test("DHCP: a reply for another exchange (another xid) is not claimed: the stack gets it, the client ignores it", () => {
  const net = setup();
  const seen = server(net, (m, n) => (n === 1 ? { ...reply(m, DHCPOFFER), xid: (m.xid + 1) >>> 0 } : normal(m, n)));
  const dhcp = new DhcpClient(net.a);
  dhcp.start();
  net.run(() => seen.length === 1 && net.a.ipv4.counters.inAddrErrors > 0, 3_000);
  // Not ours: on to the address checks, where a stack without an address drops it.
  assert.equal(net.a.ipv4.counters.inAddrErrors, 1);
  assert.equal(dhcp.counters.offers, 0);
  assert.equal(dhcp.counters.malformed, 0);
  assert.equal(dhcp.state, 'SELECTING');
  assert.ok(net.run(() => dhcp.state === 'BOUND', 10_000));
  assert.equal(dhcp.counters.offers, 1);
});

test('DHCP: a new address is checked with three ARP probes from 0.0.0.0 before it is used (RFC 5227 §2.1), then announced', () => {
  const net = setup();
  const seen = server(net, normal);
  let boundAt = -1;
  const dhcp = new DhcpClient(net.a, { probeMs: 900, onBound: () => (boundAt = net.clock.now()) });
  const arp: [number, number, number][] = [];
  net.b.arp.watcher = (spa, sha, tpa) => arp.push([spa, sha, tpa]);
  dhcp.start();
  assert.ok(net.run(() => dhcp.state === 'CHECKING', 10_000));
  assert.equal(net.a.address, 0, 'not used while it is checked');
  assert.ok(net.run(() => dhcp.state === 'BOUND', 5_000));
  const ackAt = seen[1]!.at;
  assert.equal(boundAt - ackAt, 900, 'bound once the check is over');
  assert.equal(dhcp.counters.probes, 3);
  assert.equal(net.a.address, OFFERED);
  // What the other host saw: three probes (from 0.0.0.0), then the announcement; it answered none.
  const mac = net.devA.mac;
  assert.deepEqual(arp.filter((a) => a[2] === OFFERED), [[0, mac, OFFERED], [0, mac, OFFERED], [0, mac, OFFERED], [OFFERED, mac, OFFERED]]);
  assert.equal(net.b.arp.counters.txReplies, 0);
});

test('DHCP: someone answers for the offered address: DECLINE to the server, and DISCOVER again ten seconds later', () => {
  const net = setup();
  const seen = server(net, normal);
  // The other host already uses the offered address (and still serves DHCP from 10.0.0.2).
  net.b.setAddress(OFFERED, 24);
  const lost: string[] = [];
  const dhcp = new DhcpClient(net.a, { onLost: (why) => lost.push(why) });
  dhcp.start();
  assert.ok(net.run(() => dhcp.counters.declines === 1, 10_000));
  assert.equal(net.a.address, 0, 'never configured');
  assert.equal(dhcp.state, 'INIT');
  net.run(() => seen.length === 3, 1_000);
  const decline = seen[2]!;
  assert.equal(decline.m.messageType, DHCPDECLINE);
  assert.equal(decline.m.requestedIp, OFFERED);
  assert.equal(decline.m.serverId, IP_B);
  assert.equal(decline.m.ciaddr, 0);
  assert.deepEqual([decline.src, decline.dst], [0, IPV4_BROADCAST]);
  // The other host gives the address up; the next try gets it.
  net.b.setAddress(IP_B, 24);
  assert.ok(net.run(() => dhcp.state === 'BOUND', 30_000));
  assert.equal(seen[3]!.m.messageType, DHCPDISCOVER);
  assert.equal(seen[3]!.at - decline.at, 10_000, 'RFC 2131 §3.1 step 5: at least ten seconds later');
  assert.equal(net.a.address, OFFERED);
  assert.deepEqual(lost, []);
});

test('DHCP: release() gives the lease back: a unicast DHCPRELEASE with ciaddr and the server identifier; the address goes', () => {
  const net = setup();
  const seen = server(net, normal);
  const lost: string[] = [];
  const dhcp = new DhcpClient(net.a, { onLost: (why) => lost.push(why) });
  dhcp.start();
  assert.ok(net.run(() => dhcp.state === 'BOUND', 10_000));
  assert.equal(dhcp.release(), true);
  assert.equal(dhcp.state, 'RELEASING');
  assert.ok(net.run(() => seen.length === 3 && dhcp.state === 'STOPPED', 5_000), 'the RELEASE reached the server');
  assert.equal(net.a.address, 0);
  assert.deepEqual(lost, ['released']);
  const r = seen[2]!;
  assert.equal(r.m.messageType, DHCPRELEASE);
  assert.equal(r.m.ciaddr, OFFERED);
  assert.equal(r.m.serverId, IP_B);
  assert.deepEqual([r.src, r.dst], [OFFERED, IP_B]);
  assert.equal(dhcp.counters.releases, 1);
  assert.equal(dhcp.release(), false, 'nothing left to release');
});
