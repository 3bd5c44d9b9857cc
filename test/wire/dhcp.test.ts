import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseMac } from '../../src/wire/addr.js';
import { pseudoHeaderSum } from '../../src/wire/checksum.js';
import {
  BOOTP_REQUEST,
  DHCP_MIN_LENGTH,
  DHCPACK,
  DHCPDISCOVER,
  dhcpMessageLength,
  emitDhcp,
  parseDhcp,
  type DhcpMessage,
} from '../../src/wire/dhcp.js';
import { IPPROTO_UDP, parseIpv4Header, type Ipv4Header } from '../../src/wire/ipv4.js';
import { parseUdp, type UdpHeader } from '../../src/wire/udp.js';
import { DHCP_DISCOVER } from './packets.js';
import { assertNoOverread, assertTruncationsFail, hex, rec } from './util.js';

const MAC_A = parseMac('02:00:00:00:00:01');
const ip = parseIpv4Header(DHCP_DISCOVER, 14, DHCP_DISCOVER.length - 14) as Ipv4Header;
const udp = parseUdp(DHCP_DISCOVER, ip.payloadOffset, ip.payloadLength, pseudoHeaderSum(ip.src, ip.dst, IPPROTO_UDP, ip.payloadLength)) as UdpHeader;
const DISCOVER = DHCP_DISCOVER.subarray(udp.payloadOffset, udp.payloadOffset + udp.payloadLength);

const discover: DhcpMessage = {
  op: BOOTP_REQUEST,
  htype: 1,
  hlen: 6,
  hops: 0,
  xid: 0x3903f326,
  secs: 0,
  broadcast: false,
  ciaddr: 0,
  yiaddr: 0,
  siaddr: 0,
  giaddr: 0,
  chaddr: MAC_A,
  messageType: DHCPDISCOVER,
  clientId: hex('01020000000001'),
  maxMessageSize: 1500,
  hostname: 'shoal',
  parameterRequestList: [1, 3, 6, 12, 15, 26, 28, 51, 58, 59],
};

test('DHCP: DISCOVER parses, and emits byte for byte', () => {
  assert.equal(typeof udp, 'object');
  assert.equal(udp.dstPort, 67);
  assert.equal(DISCOVER.length, 300);
  assert.deepEqual(parseDhcp(DISCOVER, 0, DISCOVER.length), discover);
  assert.equal(dhcpMessageLength(discover), 300);
  const b = new Uint8Array(300).fill(0xcc);
  assert.equal(emitDhcp(discover, b, 0), 300);
  assert.deepEqual(b, DISCOVER);
});

test('DHCP: an ACK with the options a server sends', () => {
  const ack: DhcpMessage = {
    op: 2, htype: 1, hlen: 6, hops: 1, xid: 0xdeadbeef, secs: 3, broadcast: true,
    ciaddr: 0, yiaddr: 0x0a4d0064, siaddr: 0x0a4d0001, giaddr: 0x0a4d00fe, chaddr: MAC_A,
    messageType: DHCPACK, serverId: 0x0a4d0001, leaseTime: 86400, renewalTime: 43200, rebindingTime: 75600,
    subnetMask: 0xffffff00, routers: [0x0a4d0001], dnsServers: [0x08080808, 0x01010101],
    domainName: 'example.test', interfaceMtu: 1400, requestedIp: 0x0a4d0064,
  };
  const n = dhcpMessageLength(ack);
  const b = new Uint8Array(n + 10).fill(0x77);
  assert.equal(emitDhcp(ack, b, 5), n);
  assert.equal(b[5 + n], 0x77); // nothing written past the message
  assert.deepEqual(parseDhcp(b, 5, n), ack);
  assert.equal((b[5 + 10]! << 8) | b[5 + 11]!, 0x8000);
});

test('DHCP: error codes; tolerated quirks', () => {
  const m = DISCOVER.slice();
  m[236] = 0;
  assert.equal(parseDhcp(m, 0, m.length), 'bad-cookie');
  const op = DISCOVER.slice();
  op[0] = 3;
  assert.equal(parseDhcp(op, 0, op.length), 'bad-op');
  // An option whose length runs past the end.
  const over = DISCOVER.slice(0, 240 + 3 + 2);
  over[244] = 9;
  assert.equal(parseDhcp(over, 0, over.length), 'bad-option');
  const lone = DISCOVER.slice(0, 241);
  lone[240] = 53; // code without a length
  assert.equal(parseDhcp(lone, 0, lone.length), 'bad-option');
  // No End option: what is there is taken.
  const noEnd = DISCOVER.slice(0, 243);
  assert.deepEqual(parseDhcp(noEnd, 0, noEnd.length), { ...pickFixed(discover), messageType: 1 });
  // A hostname with a trailing NUL; an unknown option; a router list of 5 bytes is ignored.
  const q = DISCOVER.slice(0, 240);
  const extra = hex('0c0473683000 fa03010203 0305010203040500 3501 05 ff');
  const r = parseDhcp(new Uint8Array([...q, ...extra]), 0, 240 + extra.length);
  assert.deepEqual(r, { ...pickFixed(discover), hostname: 'sh0', messageType: 5 });
  assertTruncationsFail('dhcp', DISCOVER, parseDhcp, 240);
  assertNoOverread(DISCOVER.subarray(0, 250), parseDhcp);
});

test('DHCP: option overload (52) reads file, then sname', () => {
  const b = new Uint8Array(300);
  emitDhcp({ ...pickFixed(discover), messageType: DHCPACK }, b, 0);
  // Replace End with overload=3 (file and sname), then End.
  b.set(hex('340103 ff'), 243);
  b.set(hex('0104ffffff00 ff'), 108); // file
  b.set(hex('0f0161 ff'), 44); // sname: domain "a"
  assert.deepEqual(parseDhcp(b, 0, 300), { ...pickFixed(discover), messageType: DHCPACK, subnetMask: 0xffffff00, domainName: 'a' });
  b[109] = 200; // an option in `file` running past its end
  assert.equal(parseDhcp(b, 0, 300), 'bad-option');
});

function pickFixed(m: DhcpMessage): DhcpMessage {
  const { op, htype, hlen, hops, xid, secs, broadcast, ciaddr, yiaddr, siaddr, giaddr, chaddr } = m;
  return { op, htype, hlen, hops, xid, secs, broadcast, ciaddr, yiaddr, siaddr, giaddr, chaddr };
}

const u32 = fc.nat(0xffffffff);
const text = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-.'), minLength: 1, maxLength: 64 });
const dhcpMessage: fc.Arbitrary<DhcpMessage> = rec<DhcpMessage>(
  {
    op: fc.constantFrom(1, 2),
    htype: fc.nat(255),
    hlen: fc.nat(255),
    hops: fc.nat(255),
    xid: u32,
    secs: fc.nat(0xffff),
    broadcast: fc.boolean(),
    ciaddr: u32,
    yiaddr: u32,
    siaddr: u32,
    giaddr: u32,
    chaddr: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    messageType: fc.integer({ min: 1, max: 8 }),
    subnetMask: u32,
    routers: fc.array(u32, { minLength: 1, maxLength: 4 }),
    dnsServers: fc.array(u32, { minLength: 1, maxLength: 4 }),
    hostname: text,
    domainName: text,
    interfaceMtu: fc.nat(0xffff),
    requestedIp: u32,
    leaseTime: u32,
    serverId: u32,
    parameterRequestList: fc.array(fc.nat(255), { minLength: 1, maxLength: 20 }),
    maxMessageSize: fc.nat(0xffff),
    renewalTime: u32,
    rebindingTime: u32,
    clientId: fc.uint8Array({ minLength: 2, maxLength: 20 }),
  },
  ['op', 'htype', 'hlen', 'hops', 'xid', 'secs', 'broadcast', 'ciaddr', 'yiaddr', 'siaddr', 'giaddr', 'chaddr'],
);

test('property: DHCP parse(emit(m)) equals m', () => {
  fc.assert(
    fc.property(dhcpMessage, fc.nat(5), (m, off) => {
      const n = dhcpMessageLength(m);
      assert.ok(n >= DHCP_MIN_LENGTH);
      const b = new Uint8Array(off + n).fill(0xee);
      assert.equal(emitDhcp(m, b, off), n);
      assert.deepEqual(parseDhcp(b, off, n), m);
    }),
    { numRuns: 500 },
  );
});

test('property: DHCP never throws on random or mutated bytes', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        // A valid fixed part and cookie with random options, sometimes overloaded.
        fc.tuple(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ minLength: 192, maxLength: 192 }), fc.boolean()).map(([opts, names, overload]) => {
          const pre = overload ? [52, 1, 3] : [];
          const b = new Uint8Array(240 + pre.length + opts.length);
          b.set(DISCOVER.subarray(0, 240));
          b.set(names, 44);
          b.set(pre, 240);
          b.set(opts, 240 + pre.length);
          return b;
        }),
        fc.array(fc.tuple(fc.nat(299), fc.nat(255)), { maxLength: 6 }).map((muts) => {
          const b = DISCOVER.slice();
          for (const [i, v] of muts) b[i] = v;
          return b;
        }),
      ),
      (b) => {
        const r = parseDhcp(b, 0, b.length);
        assert.ok(typeof r === 'string' || r.op === 1 || r.op === 2);
      },
    ),
    { numRuns: 2000 },
  );
});
