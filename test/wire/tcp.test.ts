import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pseudoHeaderSum } from '../../src/wire/checksum.js';
import { IPPROTO_TCP } from '../../src/wire/ipv4.js';
import {
  emitTcp,
  parseTcp,
  TCP_ACK,
  TCP_AE,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_PSH,
  TCP_SYN,
  tcpChecksum,
  tcpHeaderLength,
  writeTcpChecksum,
  type TcpFields,
  type TcpHeader,
} from '../../src/wire/tcp.js';
import { emitTcpOptions, parseTcpOptions, tcpOptionsLength, type TcpOptions } from '../../src/wire/tcp-options.js';
import { TCP_DATA, TCP_SACK, TCP_SYN as SYN_FRAME } from './packets.js';
import { assertNoOverread, assertTruncationsFail, hex, pick, rec } from './util.js';

const A = 0x0a4d0001;
const B = 0x0a4d0002;
const SEG = (frame: Uint8Array): Uint8Array => frame.subarray(34);
const ps = (src: number, dst: number, len: number): number => pseudoHeaderSum(src, dst, IPPROTO_TCP, len);

test('TCP: Linux SYN with MSS, SACK_PERM, TS, NOP, WS', () => {
  const s = SEG(SYN_FRAME);
  const h = parseTcp(s, 0, s.length, ps(A, B, s.length));
  assert.deepEqual(h, {
    srcPort: 39370,
    dstPort: 8080,
    seq: 0x5ed4bc5a,
    ack: 0,
    flags: TCP_SYN,
    window: 64240,
    urgent: 0,
    options: { mss: 1460, sackPermitted: true, tsVal: 0xcf710299, tsEcr: 0, wscale: 10 },
    headerLength: 40,
    checksum: 0x91db,
    payloadOffset: 40,
    payloadLength: 0,
  });
  // Emitting the same fields gives Linux's bytes, options layout included.
  const b = new Uint8Array(40);
  assert.equal(tcpHeaderLength(h as TcpHeader), 40);
  assert.equal(emitTcp(h as TcpHeader, b, 0), 40);
  assert.equal(writeTcpChecksum(A, B, b, 0, 40), 0x91db);
  assert.deepEqual(b, s);
});

test('TCP: Linux data segment (PSH ACK, NOP NOP TS) and a SACK block', () => {
  const s = SEG(TCP_DATA);
  const h = parseTcp(s, 0, s.length, ps(A, B, s.length)) as TcpHeader;
  assert.equal(typeof h, 'object');
  assert.equal(h.flags, TCP_PSH | TCP_ACK);
  assert.equal(h.ack, 0x00d8e629);
  assert.deepEqual(h.options, { tsVal: 0xcf71029a, tsEcr: 0x4639eb2c });
  assert.equal(h.headerLength, 32);
  assert.equal(Buffer.from(s.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)).toString(), 'GET / HTTP/1.0\r\n\r\n');
  const b = s.slice();
  b.fill(0, 0, 32);
  emitTcp(h, b, 0);
  writeTcpChecksum(A, B, b, 0, b.length);
  assert.deepEqual(b, s);

  const k = SEG(TCP_SACK);
  const sh = parseTcp(k, 0, k.length, ps(B, A, k.length)) as TcpHeader;
  assert.deepEqual(sh.options, { tsVal: 1178201000, tsEcr: 3480290000, sack: [0x5ed4c1f5, 0x5ed4c77d] });
  const kb = new Uint8Array(k.length);
  emitTcp(sh, kb, 0);
  writeTcpChecksum(B, A, kb, 0, kb.length);
  assert.deepEqual(kb, k);
});

test('TCP: checksum errors and tcpChecksum ignores the current field', () => {
  const s = SEG(TCP_DATA);
  for (let i = 0; i < s.length; i++) {
    const b = s.slice();
    b[i] ^= 0x04;
    const r = parseTcp(b, 0, b.length, ps(A, B, b.length));
    if (i === 12) assert.equal(typeof r, 'string'); // data offset
    else assert.equal(r, 'bad-checksum', `byte ${i}`);
  }
  assert.equal(parseTcp(s, 0, s.length, ps(A, A, s.length)), 'bad-checksum');
  assert.equal(typeof parseTcp(s, 0, s.length), 'object'); // no pseudo-header sum: not verified
  const b = s.slice();
  b[16] = 0x12;
  b[17] = 0x34;
  assert.equal(tcpChecksum(A, B, b, 0, b.length), 0xc429);
});

test('TCP: data offset errors, truncations, no over-read', () => {
  const s = SEG(SYN_FRAME).slice();
  s[12] = 0x40;
  assert.equal(parseTcp(s, 0, s.length), 'bad-data-offset');
  s[12] = 0xf0; // 60 bytes of header in 40
  assert.equal(parseTcp(s, 0, s.length), 'truncated');
  for (const f of [SYN_FRAME, TCP_DATA, TCP_SACK]) {
    const seg = SEG(f);
    // Without the checksum only header truncations fail; with it, every one does.
    assertTruncationsFail('tcp', seg, (b, o, l) => parseTcp(b, o, l), ((seg[12]! >>> 4) << 2));
    assertTruncationsFail('tcp', seg, (b, o, l) => parseTcp(b, o, l, ps(A, B, l)));
    assertNoOverread(seg, parseTcp);
  }
});

test('TCP options: malformed lengths are errors, never loops', () => {
  const p = (s: string): ReturnType<typeof parseTcpOptions> => {
    const b = hex(s);
    return parseTcpOptions(b, 0, b.length);
  };
  assert.equal(p('0200'), 'bad-option'); // length 0
  assert.equal(p('0201'), 'bad-option'); // length 1
  assert.equal(p('1e00'), 'bad-option'); // unknown kind, length 0
  assert.equal(p('020405'), 'bad-option'); // past the end
  assert.equal(p('010101 02'), 'bad-option'); // kind without a length byte
  assert.equal(p('080a 00000001 000000'), 'bad-option');
  assert.deepEqual(p(''), {});
  assert.deepEqual(p('01010101'), {});
  assert.deepEqual(p('00 0200 ffff'), {}); // EOL ends the list; what follows is not looked at
  assert.deepEqual(p('1e04abcd 020405dc'), { mss: 1500 }); // unknown kind skipped by its length
  assert.deepEqual(p('0203ff 03040e00 0402'), { sackPermitted: true }); // wrong lengths skipped (Linux)
  assert.deepEqual(p('0506 00000001'), {}); // SACK without a whole block
  assert.deepEqual(p('0303 0e 0303 0f'), { wscale: 15 }); // last one wins; clamping to 14 is the stack's job
  assert.deepEqual(p('0502'), {});
  // In a header: a bad option makes the segment an error.
  const seg = SEG(SYN_FRAME).slice();
  seg[21] = 0;
  assert.equal(parseTcp(seg, 0, seg.length), 'bad-option');
});

test('TCP options: Linux layouts', () => {
  const emit = (o: TcpOptions): string => {
    const b = new Uint8Array(40);
    const n = emitTcpOptions(o, b, 0);
    assert.equal(n, tcpOptionsLength(o));
    assert.equal(n % 4, 0);
    return Buffer.from(b.subarray(0, n)).toString('hex');
  };
  assert.equal(emit({}), '');
  assert.equal(emit({ mss: 1460, sackPermitted: true, tsVal: 1, tsEcr: 0, wscale: 7 }), '020405b4' + '0402080a0000000100000000' + '01030307');
  assert.equal(emit({ mss: 1460, sackPermitted: true, wscale: 7 }), '020405b4' + '01010402' + '01030307');
  assert.equal(emit({ mss: 1460 }), '020405b4');
  assert.equal(emit({ tsVal: 5, tsEcr: 6 }), '0101080a0000000500000006');
  assert.equal(emit({ tsVal: 5, tsEcr: 6, sack: [1, 2] }), '0101080a0000000500000006' + '0101050a0000000100000002');
  // Four blocks do not fit next to timestamps: three are sent (Linux's limit too).
  const four = [1, 2, 3, 4, 5, 6, 7, 8];
  assert.equal(emit({ tsVal: 5, tsEcr: 6, sack: four }).length, 80);
  assert.equal(emit({ sack: four }), '0101052200000001000000020000000300000004000000050000000600000007' + '00000008');
});

const u32 = fc.nat(0xffffffff);
const options: fc.Arbitrary<TcpOptions> = rec<TcpOptions>({
  mss: fc.nat(0xffff),
  wscale: fc.nat(255),
  sackPermitted: fc.constant(true),
  sack: fc.integer({ min: 1, max: 4 }).chain((n) => fc.array(u32, { minLength: 2 * n, maxLength: 2 * n })),
  tsVal: u32,
  tsEcr: u32,
}).map((o) => {
  // tsVal and tsEcr travel together.
  if ((o.tsVal === undefined) !== (o.tsEcr === undefined)) {
    delete o.tsVal;
    delete o.tsEcr;
  }
  return o;
});

/** What emit sends of `o`: SACK blocks cut to what fits in 40 bytes. */
function expectedOptions(o: TcpOptions): TcpOptions {
  const e = { ...o };
  if (e.sack) {
    const fixed = (e.mss !== undefined ? 4 : 0) + (e.tsVal !== undefined ? 12 : e.sackPermitted ? 4 : 0) + (e.wscale !== undefined ? 4 : 0);
    const n = Math.min(e.sack.length / 2, Math.floor((40 - fixed - 4) / 8));
    if (n <= 0) delete e.sack;
    else e.sack = e.sack.slice(0, 2 * n);
  }
  return e;
}

const tcpFields: fc.Arbitrary<TcpFields> = rec<TcpFields>(
  {
    srcPort: fc.nat(0xffff),
    dstPort: fc.nat(0xffff),
    seq: u32,
    ack: u32,
    flags: fc.nat(0x1ff),
    window: fc.nat(0xffff),
    urgent: fc.nat(0xffff),
    options,
  },
  ['srcPort', 'dstPort', 'seq', 'ack', 'flags', 'window', 'urgent'],
);

test('property: TCP parse(emit(h)) equals h, with a verified checksum; a flipped bit is caught', () => {
  fc.assert(
    fc.property(tcpFields, fc.uint8Array({ maxLength: 200 }), u32, u32, fc.nat(3), fc.nat(), (h, payload, src, dst, off, flip) => {
      const hl = tcpHeaderLength(h);
      const len = hl + payload.length;
      const b = new Uint8Array(off + len);
      b.set(payload, off + hl);
      assert.equal(emitTcp(h, b, off), hl);
      const c = writeTcpChecksum(src, dst, b, off, len);
      const p = parseTcp(b, off, len, ps(src, dst, len));
      assert.ok(typeof p !== 'string', String(p));
      const { options: o, ...fixed } = h;
      assert.deepEqual(pick(p, Object.keys(fixed)), fixed);
      assert.deepEqual(p.options, expectedOptions(o ?? {}));
      assert.equal(p.checksum, c);
      assert.equal(p.headerLength, hl);
      assert.equal(p.payloadOffset, off + hl);
      assert.equal(p.payloadLength, payload.length);
      const bit = flip % (len * 8);
      b[off + (bit >>> 3)]! ^= 1 << (bit & 7);
      assert.equal(typeof parseTcp(b, off, len, ps(src, dst, len)), 'string');
    }),
    { numRuns: 1000 },
  );
});

test('property: TCP never throws on random or mutated bytes', () => {
  const valid = SEG(SYN_FRAME);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 80 }),
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.nat(255)), { maxLength: 6 }).map((muts) => {
          const b = valid.slice();
          for (const [i, v] of muts) b[i] = v;
          return b;
        }),
        // A valid fixed header with random option bytes.
        fc.uint8Array({ maxLength: 40 }).map((opt) => {
          const b = new Uint8Array(20 + ((opt.length + 3) & ~3));
          b.set(valid.subarray(0, 20));
          b.set(opt, 20);
          b[12] = (b.length >>> 2) << 4;
          return b;
        }),
      ),
      fc.boolean(),
      (b, verify) => {
        const r = parseTcp(b, 0, b.length, verify ? ps(A, B, b.length) : undefined);
        if (typeof r !== 'string') {
          assert.ok(r.headerLength >= 20 && r.payloadOffset + r.payloadLength === b.length);
          if (r.options.sack) assert.ok(r.options.sack.length >= 2 && r.options.sack.length <= 8);
        }
      },
    ),
    { numRuns: 3000 },
  );
});

test('TCP flag constants', () => {
  assert.equal(TCP_FIN | TCP_SYN | TCP_ECE | TCP_CWR | TCP_AE, 0x1c3);
  const b = new Uint8Array(20);
  emitTcp({ srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TCP_AE | TCP_SYN, window: 0, urgent: 0 }, b, 0);
  assert.equal(b[12], 0x51);
  assert.equal(b[13], 0x02);
});
