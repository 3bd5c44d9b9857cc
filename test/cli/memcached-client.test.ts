import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeGet, encodeSet, MAX_REPLY_BYTES, ProtocolError, ReplyReader, type Reply } from '../../src/cli/demo/memcached-client.js';

/** Feeds `bytes` cut at `cuts`; returns the reply and how many feeds came before it. */
function read(reader: ReplyReader, bytes: string, cuts: number[] = []): { reply: Reply | null; early: number } {
  const b = Buffer.from(bytes, 'latin1');
  const edges = [0, ...cuts, b.length];
  let early = 0;
  for (let i = 0; i + 1 < edges.length; i++) {
    const r = reader.feed(b.subarray(edges[i], edges[i + 1]));
    if (r !== null) return { reply: r, early };
    early++;
  }
  return { reply: null, early };
}

test('memcached client: requests as the text protocol writes them', () => {
  assert.equal(encodeGet('key:7').toString(), 'get key:7\r\n');
  assert.equal(encodeSet('key:7', Buffer.from('abc')).toString(), 'set key:7 0 0 3\r\nabc\r\n');
  assert.equal(encodeSet('k', Buffer.alloc(0), 5, 60).toString(), 'set k 5 60 0\r\n\r\n');
});

test('memcached client: a hit, a miss and STORED, each whole and cut at every byte', () => {
  const value = 'key:1:42' + '.'.repeat(92);
  const hit = `VALUE key:1 7 100\r\n${value}\r\nEND\r\n`;
  for (let cut = 1; cut < hit.length; cut++) {
    const r = new ReplyReader();
    r.expect('get', 'key:1');
    const { reply, early } = read(r, hit, [cut]);
    assert.ok(reply !== null && reply.kind === 'hit', `cut at ${cut}`);
    assert.equal(early, 1, `cut at ${cut}: nothing before the last byte`);
    assert.equal(reply.flags, 7);
    assert.equal(reply.value.toString('latin1'), value);
    assert.equal(r.buffered, 0);
  }
  // One byte at a time, and a CAS unique as gets sends it.
  const r = new ReplyReader();
  r.expect('get', 'key:1');
  const withCas = `VALUE key:1 0 3 99\r\nabc\r\nEND\r\n`;
  const { reply } = read(r, withCas, Array.from({ length: withCas.length - 1 }, (_, i) => i + 1));
  assert.deepEqual(reply !== null && reply.kind === 'hit' ? reply.value.toString() : null, 'abc');
  // The reader is used again for the next request.
  r.expect('get', 'key:2');
  assert.deepEqual(read(r, 'END\r\n', [2]).reply, { kind: 'miss' });
  r.expect('set', 'key:2');
  assert.deepEqual(read(r, 'STORED\r\n', [7]).reply, { kind: 'stored' });
});

test('memcached client: error lines, wrong keys, bad framing and stray bytes are protocol errors', () => {
  const cases: [op: 'get' | 'set', reply: string, message: RegExp][] = [
    ['get', 'ERROR\r\n', /get k: ERROR/],
    ['get', 'SERVER_ERROR out of memory\r\n', /SERVER_ERROR out of memory/],
    ['set', 'NOT_STORED\r\n', /set k: NOT_STORED/],
    ['set', 'CLIENT_ERROR bad data chunk\r\n', /CLIENT_ERROR bad data chunk/],
    ['get', 'VALUE other 0 1\r\nx\r\nEND\r\n', /the reply is for 'other'/],
    ['get', 'VALUE k 0 x\r\n', /bad length/],
    ['get', 'VALUE k -1 1\r\n', /bad flags/],
    ['get', `VALUE k 0 ${MAX_REPLY_BYTES}\r\n`, /bad length/],
    ['get', 'VALUE k 0 1\r\nxy\r\nEND\r\n', /does not end with CRLF/],
    ['get', 'VALUE k 0 1\r\nx\r\nENDS\r\n', /no END after the value/],
    ['get', 'END\r\nEND\r\n', /5 bytes after the reply/],
    ['set', 'STORED\r\nx', /1 bytes after the reply/],
    ['get', 'x'.repeat(1025), /a reply line longer than 1024 bytes/],
  ];
  for (const [op, bytes, message] of cases) {
    const r = new ReplyReader();
    r.expect(op, 'k');
    assert.throws(() => r.feed(Buffer.from(bytes)), (e: unknown) => e instanceof ProtocolError && message.test(e.message), `${op}: ${JSON.stringify(bytes)}`);
  }
  assert.throws(() => new ReplyReader().feed(Buffer.from('END\r\n')), /no request in flight/);
});
