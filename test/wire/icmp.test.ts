import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  echoRest,
  emitIcmp,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_FRAGMENTATION_NEEDED,
  ICMP_PORT_UNREACHABLE,
  isIcmpError,
  mtuRest,
  parseIcmp,
  type IcmpHeader,
} from '../../src/wire/icmp.js';
import { parseIpv4Header, type Ipv4Header } from '../../src/wire/ipv4.js';
import { parseUdp } from '../../src/wire/udp.js';
import { ICMP_ECHO_REPLY as REPLY_FRAME, ICMP_ECHO_REQUEST as REQUEST_FRAME, ICMP_PORT_UNREACHABLE as UNREACH_FRAME } from './packets.js';
import { assertNoOverread, assertTruncationsFail, pick, rec, refChecksum } from './util.js';

const ICMP = (frame: Uint8Array): Uint8Array => frame.subarray(34);

test('ICMP: Linux echo request, and the reply made from it in place equals the kernel reply', () => {
  const b = REQUEST_FRAME.slice();
  const ip = parseIpv4Header(b, 14, b.length - 14) as Ipv4Header;
  const h = parseIcmp(b, ip.payloadOffset, ip.payloadLength);
  assert.deepEqual(h, {
    type: ICMP_ECHO_REQUEST,
    code: 0,
    rest: 0x12340001,
    checksum: 0x26f8,
    id: 0x1234,
    seq: 1,
    mtu: 1,
    payloadOffset: 42,
    payloadLength: 40,
  });
  const req = h as IcmpHeader;
  assert.equal(emitIcmp({ type: ICMP_ECHO_REPLY, code: 0, rest: req.rest }, b, 34, req.payloadLength), 8);
  assert.deepEqual(b.subarray(34), ICMP(REPLY_FRAME));
  assert.equal(echoRest(0x1234, 1), req.rest);
});

test('ICMP: Linux port unreachable carries the original header + 8 bytes', () => {
  const b = UNREACH_FRAME;
  const ip = parseIpv4Header(b, 14, b.length - 14) as Ipv4Header;
  const h = parseIcmp(b, ip.payloadOffset, ip.payloadLength) as IcmpHeader;
  assert.equal(h.type, ICMP_DEST_UNREACHABLE);
  assert.equal(h.code, ICMP_PORT_UNREACHABLE);
  assert.ok(isIcmpError(h.type));
  assert.ok(!isIcmpError(ICMP_ECHO_REQUEST));
  assert.equal(h.payloadLength, 29); // 20 + 8 + 1: Linux quotes as much as fits in 576 bytes
  const inner = parseIpv4Header(b, h.payloadOffset, h.payloadLength) as Ipv4Header;
  assert.equal(inner.protocol, 17);
  assert.equal(inner.src, 0x0a4d0001);
  const udp = parseUdp(b, inner.payloadOffset, inner.payloadLength);
  assert.ok(typeof udp !== 'string' && udp.srcPort === 40000 && udp.dstPort === 9);
  // Re-emitting over the same body reproduces the checksum.
  const copy = b.slice();
  emitIcmp(h, copy, ip.payloadOffset, h.payloadLength);
  assert.deepEqual(copy, b);
});

test('ICMP: fragmentation needed carries the next-hop MTU (RFC 1191)', () => {
  const b = new Uint8Array(8 + 28);
  b.set(UNREACH_FRAME.subarray(42, 70), 8);
  emitIcmp({ type: ICMP_DEST_UNREACHABLE, code: ICMP_FRAGMENTATION_NEEDED, rest: mtuRest(1400) }, b, 0, 28);
  assert.deepEqual(b.subarray(0, 8), new Uint8Array([3, 4, b[2]!, b[3]!, 0, 0, 0x05, 0x78]));
  const h = parseIcmp(b, 0, b.length) as IcmpHeader;
  assert.equal(h.mtu, 1400);
  assert.equal(refChecksum(b), 0);
});

test('ICMP: bad checksum, truncations, no over-read', () => {
  for (const f of [REQUEST_FRAME, REPLY_FRAME, UNREACH_FRAME]) {
    const icmp = ICMP(f);
    assertTruncationsFail('icmp', icmp, parseIcmp);
    assertNoOverread(icmp, parseIcmp);
    for (let i = 0; i < icmp.length; i++) {
      const b = icmp.slice();
      b[i] ^= 0x10;
      assert.equal(parseIcmp(b, 0, b.length), 'bad-checksum', `byte ${i}`);
      assert.equal(typeof parseIcmp(b, 0, b.length, true), 'object');
    }
  }
});

test('property: ICMP parse(emit(h)) equals h, unknown types generically', () => {
  fc.assert(
    fc.property(
      rec<{ type: number; code: number; rest: number }>({ type: fc.nat(255), code: fc.nat(255), rest: fc.nat(0xffffffff) }),
      fc.uint8Array({ maxLength: 200 }),
      fc.nat(5),
      (h, body, off) => {
        const b = new Uint8Array(off + 8 + body.length);
        b.set(body, off + 8);
        emitIcmp(h, b, off, body.length);
        const p = parseIcmp(b, off, 8 + body.length);
        assert.ok(typeof p !== 'string', String(p));
        assert.deepEqual(pick(p, ['type', 'code', 'rest']), h);
        assert.equal(p.id, h.rest >>> 16);
        assert.equal(p.seq, h.rest & 0xffff);
        assert.equal(p.payloadOffset, off + 8);
        assert.equal(p.payloadLength, body.length);
        assert.deepEqual(b.subarray(p.payloadOffset), body);
      },
    ),
    { numRuns: 1000 },
  );
});

test('property: ICMP never throws on random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (b, skip) => {
      const r = parseIcmp(b, 0, b.length, skip);
      assert.ok(typeof r === 'string' || r.payloadOffset + r.payloadLength === b.length);
    }),
    { numRuns: 2000 },
  );
});
