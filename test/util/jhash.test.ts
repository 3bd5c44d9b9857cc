import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jhash3 } from '../../src/util/jhash.js';

test('jhash3: deterministic, keyed, and spreads 4-tuples from one client over the buckets', () => {
  assert.equal(jhash3(1, 2, 3, 4), jhash3(1, 2, 3, 4));
  assert.notEqual(jhash3(1, 2, 3, 4), jhash3(1, 2, 3, 5), 'the secret changes the hash');
  // 65,536 connections from one client address to one server port, by client port: a
  // fair hash puts ~16 in each of 4096 buckets; none should hold more than 3× that.
  for (const secret of [0, 0x12345678, -1]) {
    const counts = new Uint32Array(4096);
    for (let port = 0; port < 65536; port++) counts[jhash3(0x0a000001, 0x0a000002, (80 << 16) | port, secret) & 4095]!++;
    assert.ok(Math.max(...counts) <= 48, `secret ${secret}: fullest bucket ${Math.max(...counts)}`);
    assert.ok(Math.min(...counts) >= 2, `secret ${secret}: emptiest bucket ${Math.min(...counts)}`);
  }
});
