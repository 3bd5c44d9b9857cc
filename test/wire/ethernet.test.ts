import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAC_BROADCAST, parseMac } from '../../src/wire/addr.js';
import {
  emitEthernet,
  ethernetHeaderLength,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_VLAN,
  parseEthernet,
  type EthernetFields,
} from '../../src/wire/ethernet.js';
import { ARP_OP_REPLY, ARP_OP_REQUEST, emitArp, parseArp, type ArpPacket } from '../../src/wire/arp.js';
import { ARP_REQUEST, TCP_SYN, VLAN_ARP_REPLY } from './packets.js';
import { assertNoOverread, assertTruncationsFail, pick, rec } from './util.js';

const MAC_A = parseMac('02:00:00:00:00:01');
const MAC_B = parseMac('02:00:00:00:00:02');

test('Ethernet: Linux ARP request frame', () => {
  const e = parseEthernet(ARP_REQUEST, 0, ARP_REQUEST.length);
  assert.deepEqual(e, {
    dst: MAC_BROADCAST,
    src: MAC_A,
    ethertype: ETHERTYPE_ARP,
    vlan: null,
    headerLength: 14,
    payloadOffset: 14,
    payloadLength: 28,
  });
  const out = new Uint8Array(14);
  assert.equal(emitEthernet(e, out, 0), 14);
  assert.deepEqual(out, ARP_REQUEST.subarray(0, 14));
});

test('Ethernet: 802.1Q tag (PCP 5, VLAN 100) is recognised and re-emitted', () => {
  const e = parseEthernet(VLAN_ARP_REPLY, 0, VLAN_ARP_REPLY.length);
  assert.ok(typeof e !== 'string');
  assert.deepEqual(e.vlan, { pcp: 5, dei: false, id: 100 });
  assert.equal(e.ethertype, ETHERTYPE_ARP);
  assert.equal(e.headerLength, 18);
  assert.equal(e.payloadOffset, 18);
  assert.equal(ethernetHeaderLength(e), 18);
  const out = new Uint8Array(18);
  assert.equal(emitEthernet(e, out, 0), 18);
  assert.deepEqual(out, VLAN_ARP_REPLY.subarray(0, 18));
});

test('Ethernet: truncations fail, no over-read', () => {
  assertTruncationsFail('ethernet', ARP_REQUEST, parseEthernet, 14);
  assertTruncationsFail('ethernet+vlan', VLAN_ARP_REPLY, parseEthernet, 18);
  assertNoOverread(TCP_SYN, parseEthernet);
  assertNoOverread(VLAN_ARP_REPLY.subarray(0, 18), parseEthernet);
});

const mac = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const ethernetFields: fc.Arbitrary<EthernetFields> = fc.oneof(
  rec({
    dst: mac,
    src: mac,
    ethertype: fc.nat(0xffff).filter((t) => t !== ETHERTYPE_VLAN),
    vlan: fc.constant(null),
  }),
  rec({
    dst: mac,
    src: mac,
    ethertype: fc.nat(0xffff),
    vlan: rec({ pcp: fc.nat(7), dei: fc.boolean(), id: fc.nat(4095) }),
  }),
);

test('property: Ethernet parse(emit(h)) equals h', () => {
  fc.assert(
    fc.property(ethernetFields, fc.nat(100), fc.nat(5), (h, payload, off) => {
      const hl = ethernetHeaderLength(h);
      const b = new Uint8Array(off + hl + payload);
      assert.equal(emitEthernet(h, b, off), hl);
      const p = parseEthernet(b, off, hl + payload);
      assert.ok(typeof p !== 'string');
      assert.deepEqual(pick(p, ['dst', 'src', 'ethertype', 'vlan']), h);
      assert.equal(p.payloadOffset, off + hl);
      assert.equal(p.payloadLength, payload);
    }),
    { numRuns: 1000 },
  );
});

test('property: Ethernet never throws on random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      const r = parseEthernet(b, 0, b.length);
      if (typeof r === 'string') assert.equal(r, 'truncated');
      else assert.ok(r.payloadOffset + r.payloadLength === b.length);
    }),
    { numRuns: 2000 },
  );
});

test('ARP: Linux request', () => {
  const a = parseArp(ARP_REQUEST, 14, ARP_REQUEST.length - 14);
  assert.deepEqual(a, { op: ARP_OP_REQUEST, sha: MAC_A, spa: 0x0a4d0001, tha: 0, tpa: 0x0a4d0002 });
  const out = new Uint8Array(28);
  assert.equal(emitArp(a as ArpPacket, out, 0), 28);
  assert.deepEqual(out, ARP_REQUEST.subarray(14));
});

test('ARP: reply behind a VLAN tag, with Ethernet padding after it', () => {
  const padded = new Uint8Array(60);
  padded.set(VLAN_ARP_REPLY);
  const a = parseArp(padded, 18, padded.length - 18);
  assert.deepEqual(a, { op: ARP_OP_REPLY, sha: MAC_B, spa: 0x0a4d0002, tha: MAC_A, tpa: 0x0a4d0001 });
});

test('ARP: error codes', () => {
  const bad = (i: number, v: number): string | object => {
    const b = ARP_REQUEST.slice(14);
    b[i] = v;
    return parseArp(b, 0, b.length);
  };
  assert.equal(bad(1, 6), 'bad-htype'); // IEEE 802 hardware type
  assert.equal(bad(2, 0x86), 'bad-ptype');
  assert.equal(bad(4, 8), 'bad-hlen');
  assert.equal(bad(5, 16), 'bad-plen');
  assert.equal(bad(7, 3), 'bad-op'); // RARP request
  assert.equal(bad(7, 0), 'bad-op');
  assertTruncationsFail('arp', ARP_REQUEST.subarray(14), parseArp);
  assertNoOverread(ARP_REQUEST.subarray(14), parseArp);
});

const arpPacket: fc.Arbitrary<ArpPacket> = rec({
  op: fc.constantFrom(ARP_OP_REQUEST, ARP_OP_REPLY),
  sha: mac,
  spa: fc.nat(0xffffffff),
  tha: mac,
  tpa: fc.nat(0xffffffff),
});

test('property: ARP parse(emit(p)) equals p', () => {
  fc.assert(
    fc.property(arpPacket, fc.nat(7), (p, off) => {
      const b = new Uint8Array(off + 28);
      emitArp(p, b, off);
      assert.deepEqual(parseArp(b, off, 28), p);
    }),
    { numRuns: 1000 },
  );
});

test('property: ARP never throws on random or mutated bytes', () => {
  const valid = ARP_REQUEST.slice(14);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(27), fc.nat(255)), { maxLength: 4 }).map((muts) => {
          const b = valid.slice();
          for (const [i, v] of muts) b[i] = v;
          return b;
        }),
      ),
      (b) => {
        const r = parseArp(b, 0, b.length);
        assert.ok(typeof r === 'string' || (r.op === 1 || r.op === 2));
      },
    ),
    { numRuns: 2000 },
  );
});

test('Ethernet + IPv4 ethertype constant matches the Linux SYN frame', () => {
  const e = parseEthernet(TCP_SYN, 0, TCP_SYN.length);
  assert.ok(typeof e !== 'string' && e.ethertype === ETHERTYPE_IPV4 && e.dst === MAC_B && e.src === MAC_A);
});
