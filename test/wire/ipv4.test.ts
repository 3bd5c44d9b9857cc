import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  emitIpv4Header,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  ipv4HeaderLength,
  isFragment,
  parseIpv4Header,
  type Ipv4Fields,
  type Ipv4Header,
} from '../../src/wire/ipv4.js';
import { ICMP_ECHO_REQUEST, ICMP_PORT_UNREACHABLE, TCP_SYN, UDP_HELLO } from './packets.js';
import { assertNoOverread, assertTruncationsFail, pick, rec, refChecksum } from './util.js';

const IP = (frame: Uint8Array): Uint8Array => frame.subarray(14);

test('IPv4: Linux ICMP echo request header', () => {
  const b = IP(ICMP_ECHO_REQUEST);
  const h = parseIpv4Header(b, 0, b.length);
  assert.deepEqual(h, {
    dscp: 0,
    ecn: 0,
    totalLength: 68,
    id: 0x5f7f,
    df: true,
    mf: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: IPPROTO_ICMP,
    src: 0x0a4d0001,
    dst: 0x0a4d0002,
    headerLength: 20,
    checksum: 0xc69d,
    optionsOffset: 20,
    optionsLength: 0,
    payloadOffset: 20,
    payloadLength: 48,
  });
  const out = new Uint8Array(20);
  assert.equal(emitIpv4Header(h as Ipv4Header, out, 0), 20);
  assert.deepEqual(out, b.subarray(0, 20));
});

test('IPv4: Linux ICMP error (TOS 0xc0: DSCP 48 CS6) and TCP SYN headers re-emit byte for byte', () => {
  for (const frame of [ICMP_PORT_UNREACHABLE, TCP_SYN, UDP_HELLO]) {
    const b = IP(frame);
    const h = parseIpv4Header(b, 0, b.length);
    assert.ok(typeof h !== 'string');
    const out = new Uint8Array(20);
    emitIpv4Header(h, out, 0);
    assert.deepEqual(out, b.subarray(0, 20));
  }
  const h = parseIpv4Header(IP(ICMP_PORT_UNREACHABLE), 0, 57) as Ipv4Header;
  assert.equal(h.dscp, 48);
  assert.equal(h.df, false);
});

test('IPv4: Ethernet padding after total length is not payload', () => {
  const b = new Uint8Array(46); // minimum Ethernet payload
  b.set(IP(UDP_HELLO));
  const h = parseIpv4Header(b, 0, b.length) as Ipv4Header;
  assert.equal(h.totalLength, 40);
  assert.equal(h.payloadLength, 20);
});

test('IPv4: error codes', () => {
  const mut = (f: (b: Uint8Array) => void, fixChecksum = true): string | object => {
    const b = IP(TCP_SYN).slice();
    f(b);
    if (fixChecksum) {
      const hl = (b[0]! & 15) * 4;
      b[10] = 0;
      b[11] = 0;
      const c = refChecksum(b, 0, Math.min(hl, b.length));
      b[10] = c >>> 8;
      b[11] = c & 0xff;
    }
    return parseIpv4Header(b, 0, b.length);
  };
  assert.equal(mut((b) => (b[0] = 0x65)), 'bad-version');
  assert.equal(mut((b) => (b[0] = 0x44)), 'bad-header-length');
  assert.equal(mut((b) => (b[0] = 0x40)), 'bad-header-length');
  assert.equal((mut((b) => (b[0] = 0x4f)) as Ipv4Header).payloadLength, 0); // 60-byte header, total 60: no payload
  assert.equal(mut((b) => ((b[0] = 0x4f), (b[3] = 56))), 'bad-total-length');
  const udp = IP(UDP_HELLO).slice();
  udp[0] = 0x4f; // a 60-byte header in 40 bytes
  assert.equal(parseIpv4Header(udp, 0, udp.length), 'truncated');
  assert.equal(mut((b) => (b[3] = 19)), 'bad-total-length');
  assert.equal(mut((b) => (b[3] = 61)), 'truncated');
  assert.equal(mut((b) => (b[8] = 63), false), 'bad-checksum');
  assert.equal(mut((b) => (b[19] ^= 1), false), 'bad-checksum');
  // With the checksum verified elsewhere (NIC offload), a bad one passes.
  const b = IP(TCP_SYN).slice();
  b[11] ^= 0xff;
  assert.equal(parseIpv4Header(b, 0, b.length, false), 'bad-checksum');
  assert.equal(typeof parseIpv4Header(b, 0, b.length, true), 'object');
});

test('IPv4: header with options (Record Route) exposes them raw', () => {
  const opts = new Uint8Array([7, 7, 4, 0, 0, 0, 0, 1]); // RR, one slot, then EOL
  const h: Ipv4Fields = {
    dscp: 0, ecn: 0, totalLength: 28 + 4, id: 1, df: false, mf: false, fragmentOffset: 0,
    ttl: 1, protocol: IPPROTO_TCP, src: 0x01020304, dst: 0x05060708, options: opts.subarray(0, 7),
  };
  assert.equal(ipv4HeaderLength(h), 28);
  const b = new Uint8Array(32).fill(0xee);
  assert.equal(emitIpv4Header(h, b, 0), 28);
  const p = parseIpv4Header(b, 0, 32) as Ipv4Header;
  assert.equal(p.headerLength, 28);
  assert.deepEqual(b.subarray(p.optionsOffset, p.optionsOffset + p.optionsLength), new Uint8Array([7, 7, 4, 0, 0, 0, 0, 0]));
  assert.equal(p.payloadOffset, 28);
  assert.equal(p.payloadLength, 4);
  assert.throws(() => emitIpv4Header({ ...h, options: new Uint8Array(41) }, new Uint8Array(80), 0), RangeError);
});

test('IPv4: fragments', () => {
  const h: Ipv4Fields = {
    dscp: 0, ecn: 0, totalLength: 20 + 8, id: 77, df: false, mf: true, fragmentOffset: 1480,
    ttl: 64, protocol: 17, src: 1, dst: 2,
  };
  const b = new Uint8Array(28);
  emitIpv4Header(h, b, 0);
  assert.equal((b[6]! << 8) | b[7]!, 0x2000 | 185);
  const p = parseIpv4Header(b, 0, 28) as Ipv4Header;
  assert.equal(p.fragmentOffset, 1480);
  assert.ok(isFragment(p));
  assert.ok(!isFragment({ ...p, mf: false, fragmentOffset: 0 }));
  assert.ok(isFragment({ ...p, mf: false }));
});

test('IPv4: every truncation fails, no over-read', () => {
  for (const f of [ICMP_ECHO_REQUEST, TCP_SYN, UDP_HELLO, ICMP_PORT_UNREACHABLE]) {
    assertTruncationsFail('ipv4', IP(f), parseIpv4Header);
    assertNoOverread(IP(f), parseIpv4Header);
  }
});

const u32 = fc.nat(0xffffffff);
const ipv4Fields: fc.Arbitrary<Ipv4Fields> = fc
  .tuple(
    rec<Omit<Ipv4Fields, 'totalLength' | 'options'>>({
      dscp: fc.nat(63),
      ecn: fc.nat(3),
      id: fc.nat(0xffff),
      df: fc.boolean(),
      mf: fc.boolean(),
      fragmentOffset: fc.nat(8191).map((x) => x * 8),
      ttl: fc.nat(255),
      protocol: fc.nat(255),
      src: u32,
      dst: u32,
    }),
    fc.option(fc.integer({ min: 1, max: 10 }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n })), { nil: undefined }),
    fc.oneof(fc.nat(100), fc.constant(65535 - 60)),
  )
  .map(([f, options, extra]) => {
    const hl = 20 + (options ? options.length : 0);
    return options ? { ...f, options, totalLength: hl + extra } : { ...f, totalLength: hl + extra };
  });

test('property: IPv4 parse(emit(h)) equals h', () => {
  fc.assert(
    fc.property(ipv4Fields, fc.nat(7), (h, off) => {
      const b = new Uint8Array(off + h.totalLength);
      const hl = emitIpv4Header(h, b, off);
      assert.equal(hl, ipv4HeaderLength(h));
      assert.equal(refChecksum(b, off, hl), 0);
      const p = parseIpv4Header(b, off, h.totalLength);
      assert.ok(typeof p !== 'string', String(p));
      const { options, ...rest } = h;
      assert.deepEqual(pick(p, Object.keys(rest)), rest);
      assert.deepEqual(b.subarray(p.optionsOffset, p.optionsOffset + p.optionsLength), options ?? new Uint8Array(0));
      assert.equal(p.payloadOffset, off + hl);
      assert.equal(p.payloadLength, h.totalLength - hl);
      // Flip any header bit: the checksum catches it (or another check does first).
      const bit = (h.id * 7 + h.ttl) % (hl * 8);
      b[off + (bit >>> 3)]! ^= 1 << (bit & 7);
      const q = parseIpv4Header(b, off, h.totalLength);
      assert.equal(typeof q, 'string');
    }),
    { numRuns: 1000 },
  );
});

test('property: IPv4 never throws on random or mutated bytes', () => {
  const valid = IP(TCP_SYN);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 80 }),
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.nat(255)), { maxLength: 4 }).map((muts) => {
          const b = valid.slice();
          for (const [i, v] of muts) b[i] = v;
          return b;
        }),
      ),
      fc.boolean(),
      (b, skip) => {
        const r = parseIpv4Header(b, 0, b.length, skip);
        if (typeof r !== 'string') {
          assert.ok(r.payloadOffset + r.payloadLength <= b.length);
          assert.ok(r.headerLength >= 20 && r.headerLength <= r.totalLength);
        }
      },
    ),
    { numRuns: 2000 },
  );
});
