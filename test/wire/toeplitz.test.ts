import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_RSS_KEY, ToeplitzHasher, toeplitzReference } from '../../src/wire/toeplitz.js';
import { parseIpv4 } from '../../src/wire/addr.js';

// Microsoft's RSS verification suite ("Verifying the RSS Hash Calculation"), IPv4.
// Each row: destination, source (as the table lists them), then the hash of the
// 2-tuple and of the 4-tuple. Input order is source, destination, source port, destination port.
const VECTORS = [
  ['161.142.100.80', 1766, '66.9.149.187', 2794, 0x323e8fc2, 0x51ccc178],
  ['65.69.140.83', 4739, '199.92.111.2', 14230, 0xd718262a, 0xc626b0ea],
  ['12.22.207.184', 38024, '24.19.198.95', 12898, 0xd2d0a5de, 0x5c2b394a],
  ['209.142.163.6', 2217, '38.27.205.30', 48228, 0x82989176, 0xafc7327f],
  ['202.188.127.2', 1303, '153.39.163.191', 44251, 0x5d1809c5, 0x10e828a2],
] as const;

const hasher = new ToeplitzHasher();

test('Toeplitz: the Microsoft RSS verification vectors, 2-tuple and 4-tuple', () => {
  for (const [dst, dport, src, sport, h2, h4] of VECTORS) {
    const s = parseIpv4(src);
    const d = parseIpv4(dst);
    assert.equal(hasher.hashIpv4(s, d), h2, `2-tuple ${src} -> ${dst}`);
    assert.equal(hasher.hashIpv4Ports(s, d, sport, dport), h4, `4-tuple ${src}:${sport} -> ${dst}:${dport}`);
  }
});

test('Toeplitz: the table-driven hash equals the bit-by-bit definition for any key and input', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 40, maxLength: 52 }),
      fc.uint8Array({ maxLength: 36 }),
      (key, input) => {
        const h = new ToeplitzHasher(key);
        assert.equal(h.hash(input), toeplitzReference(key, input));
      },
    ),
    { numRuns: 200 },
  );
});

test('Toeplitz: a key shorter than 40 bytes, or input longer than the key allows, is refused', () => {
  assert.throws(() => new ToeplitzHasher(new Uint8Array(39)), /at least 40 bytes/);
  assert.throws(() => hasher.hash(new Uint8Array(37)), /at most 36/);
  assert.equal(DEFAULT_RSS_KEY.length, 40);
});
