import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pseudoHeaderSum } from '../../src/wire/checksum.js';
import { IPPROTO_UDP } from '../../src/wire/ipv4.js';
import { emitUdp, parseUdp, udpChecksum, writeUdpChecksum, type UdpFields, type UdpHeader } from '../../src/wire/udp.js';
import { UDP_HELLO } from './packets.js';
import { assertNoOverread, assertTruncationsFail, pick, rec } from './util.js';

const A = 0x0a4d0001;
const B = 0x0a4d0002;
const UDP = UDP_HELLO.subarray(34);

test('UDP: Linux datagram, checksum verified and recomputed', () => {
  const ps = pseudoHeaderSum(A, B, IPPROTO_UDP, UDP.length);
  const h = parseUdp(UDP, 0, UDP.length, ps);
  assert.deepEqual(h, { srcPort: 40000, dstPort: 5353, length: 20, checksum: 0xa739, payloadOffset: 8, payloadLength: 12 });
  assert.equal(udpChecksum(A, B, UDP, 0, UDP.length), 0xa739);
  const b = UDP.slice();
  assert.equal(emitUdp(h as UdpHeader, b, 0), 8);
  assert.equal(b[6], 0);
  assert.equal(writeUdpChecksum(A, B, b, 0, b.length), 0xa739);
  assert.deepEqual(b, UDP);
});

test('UDP: bad checksum; zero checksum means none (RFC 768); wrong addresses fail', () => {
  for (let i = 0; i < UDP.length; i++) {
    const b = UDP.slice();
    b[i] ^= 0x01;
    const r = parseUdp(b, 0, b.length, pseudoHeaderSum(A, B, IPPROTO_UDP, b.length));
    if (i === 4 || i === 5) assert.equal(typeof r, 'string', `byte ${i}`); // length field
    else assert.equal(r, 'bad-checksum', `byte ${i}`);
  }
  assert.equal(parseUdp(UDP, 0, UDP.length, pseudoHeaderSum(A, A, IPPROTO_UDP, UDP.length)), 'bad-checksum');
  const none = UDP.slice();
  none[6] = 0;
  none[7] = 0;
  assert.equal(typeof parseUdp(none, 0, none.length, pseudoHeaderSum(A, A, IPPROTO_UDP, none.length)), 'object');
});

test('UDP: a computed checksum of 0 is sent as 0xffff', () => {
  // Choose the last payload word so that the one's-complement sum is 0xffff.
  const b = new Uint8Array(10);
  emitUdp({ srcPort: 1, dstPort: 2, length: 10 }, b, 0);
  const c0 = udpChecksum(A, B, b, 0, 10); // ~S for the sum S with a zero last word
  // A last word of ~S makes the sum 0xffff, whose checksum is 0.
  b[8] = c0 >>> 8;
  b[9] = c0 & 0xff;
  assert.equal(udpChecksum(A, B, b, 0, 10), 0xffff);
  writeUdpChecksum(A, B, b, 0, 10);
  assert.equal(typeof parseUdp(b, 0, 10, pseudoHeaderSum(A, B, IPPROTO_UDP, 10)), 'object');
});

test('UDP: length field lies; trailing bytes after the datagram', () => {
  const set = (len: number): Uint8Array => {
    const b = UDP.slice();
    b[4] = len >>> 8;
    b[5] = len & 0xff;
    return b;
  };
  assert.equal(parseUdp(set(7), 0, 20), 'bad-length');
  assert.equal(parseUdp(set(0), 0, 20), 'bad-length');
  assert.equal(parseUdp(set(21), 0, 20), 'bad-length');
  // IP payload longer than the UDP length: the rest is ignored, checksum still verifies
  // with the pseudo-header computed for the IP payload length.
  const padded = new Uint8Array(26);
  padded.set(UDP);
  padded.fill(0x5a, 20);
  const h = parseUdp(padded, 0, 26, pseudoHeaderSum(A, B, IPPROTO_UDP, 26));
  assert.ok(typeof h !== 'string', String(h));
  assert.equal(h.payloadLength, 12);
  assertTruncationsFail('udp', UDP, (b, o, l) => parseUdp(b, o, l));
  assertNoOverread(UDP, (b, o, l) => parseUdp(b, o, l, pseudoHeaderSum(A, B, IPPROTO_UDP, l)));
});

test('property: UDP parse(emit(h)) equals h, with a verified checksum', () => {
  fc.assert(
    fc.property(
      rec<Omit<UdpFields, 'length'>>({ srcPort: fc.nat(0xffff), dstPort: fc.nat(0xffff) }),
      fc.uint8Array({ maxLength: 300 }),
      fc.nat(0xffffffff),
      fc.nat(0xffffffff),
      fc.nat(3),
      (ports, payload, src, dst, off) => {
        const h: UdpFields = { ...ports, length: 8 + payload.length };
        const b = new Uint8Array(off + h.length);
        b.set(payload, off + 8);
        emitUdp(h, b, off);
        const c = writeUdpChecksum(src, dst, b, off, h.length);
        assert.notEqual(c, 0);
        const ps = pseudoHeaderSum(src, dst, IPPROTO_UDP, h.length);
        const p = parseUdp(b, off, h.length, ps);
        assert.ok(typeof p !== 'string', String(p));
        assert.deepEqual(pick(p, ['srcPort', 'dstPort', 'length']), h);
        assert.equal(p.checksum, c);
        assert.equal(p.payloadOffset, off + 8);
        const i = off + (c % h.length);
        b[i]! ^= 0x80;
        const q = parseUdp(b, off, h.length, ps);
        assert.equal(typeof q, 'string');
      },
    ),
    { numRuns: 1000 },
  );
});

test('property: UDP never throws on random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.option(fc.nat(0xffff), { nil: undefined }), (b, ps) => {
      const r = parseUdp(b, 0, b.length, ps);
      assert.ok(typeof r === 'string' || r.payloadOffset + r.payloadLength <= b.length);
    }),
    { numRuns: 2000 },
  );
});
