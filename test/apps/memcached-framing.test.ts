import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Client, newCache } from './memcached-harness.js';
import { Memcached } from '../../src/apps/memcached/memcached.js';
import { VirtualClock } from '../../src/time/clock.js';

/** Runs `input` cut into `chunks` (lengths) through a fresh cache; returns the output and whether it ended. */
function run(input: Buffer, cuts: number[] = []): { out: string; ended: boolean } {
  const cache = new Memcached({ clock: new VirtualClock(), maxItemSize: 512, memoryLimit: 4096 });
  const c = new Client(cache);
  let at = 0;
  for (const cut of [...cuts, input.length]) {
    const end = Math.min(Math.max(cut, at), input.length);
    c.session.feed(input.subarray(at, end));
    at = end;
  }
  return { out: c.take(), ended: c.ended };
}

const SCRIPT = Buffer.from(
  [
    'set a 1 0 5\r\nhello\r\n',
    'get a b\r\n',
    'set n 0 0 2 noreply\r\n10\r\n',
    'incr n 5\r\ndecr n 100\r\n',
    'gets a\r\n',
    'append a 0 0 3\r\n!!!\r\n',
    'set b 0 0 3\r\nabcde\r\n', // a bad data chunk, then "\r\n" is an empty line
    `set big 0 0 600\r\n${'x'.repeat(600)}\r\n`, // too large: swallowed
    'gat 100 a n\r\n',
    'delete a\r\ndelete a\r\n',
    'bogus\r\n\n',
    'touch n 10\r\nversion\r\n',
  ].join(''),
  'latin1',
);

test('memcached framing: pipelined commands in one chunk are answered in order', () => {
  const { out, ended } = run(SCRIPT);
  assert.equal(
    out,
    [
      'STORED\r\n',
      'VALUE a 1 5\r\nhello\r\nEND\r\n',
      '15\r\n0\r\n',
      'VALUE a 1 5 1\r\nhello\r\nEND\r\n',
      'STORED\r\n',
      'CLIENT_ERROR bad data chunk\r\nERROR\r\n',
      'SERVER_ERROR object too large for cache\r\n',
      'VALUE a 1 8\r\nhello!!!\r\nVALUE n 0 2\r\n0 \r\nEND\r\n',
      'DELETED\r\nNOT_FOUND\r\n',
      'ERROR\r\nERROR\r\n',
      'TOUCHED\r\nVERSION 1.6.0-shoal\r\n',
    ].join(''),
  );
  assert.ok(!ended);
});

test('memcached framing: the script cut at every byte position answers the same', () => {
  const whole = run(SCRIPT).out;
  for (let cut = 0; cut <= SCRIPT.length; cut++) assert.equal(run(SCRIPT, [cut]).out, whole, `cut at ${cut}`);
});

test('memcached framing: the script fed one byte at a time answers the same', () => {
  const cuts = Array.from({ length: SCRIPT.length }, (_, i) => i + 1);
  assert.equal(run(SCRIPT, cuts).out, run(SCRIPT).out);
});

// Commands good and bad, on few keys so that they meet.
const key = fc.constantFrom('a', 'b', 'n', 'k'.repeat(251), 'c\x01');
const num = fc.constantFrom('0', '1', '5', '-1', '100', 'x', '18446744073709551615', '2147483648');
const value = fc.oneof(fc.constantFrom('', '7', '42', 'text', '1 2'), fc.string({ maxLength: 8 }), fc.constantFrom('y'.repeat(600)));
const noreply = fc.constantFrom('', ' noreply');
const command = fc.oneof(
  fc.tuple(fc.constantFrom('set', 'add', 'replace', 'append', 'prepend'), key, num, num, value, noreply, fc.integer({ min: -2, max: 2 })).map(
    ([cmd, k, flags, exp, v, nr, skew]) => `${cmd} ${k} ${flags} ${exp === 'x' ? '0' : exp} ${Math.max(0, v.length + (skew === 2 ? 1 : 0))}${nr}\r\n${v}${skew === -2 ? 'XY' : '\r\n'}`,
  ),
  fc.tuple(key, num, value, noreply).map(([k, cas, v, nr]) => `cas ${k} 0 0 ${v.length} ${cas}${nr}\r\n${v}\r\n`),
  fc.tuple(fc.constantFrom('get', 'gets'), fc.array(key, { minLength: 0, maxLength: 4 })).map(([cmd, ks]) => `${cmd} ${ks.join(' ')}\r\n`),
  fc.tuple(fc.constantFrom('gat', 'gats'), num, fc.array(key, { maxLength: 3 })).map(([cmd, e, ks]) => `${cmd} ${e} ${ks.join(' ')}\r\n`),
  fc.tuple(fc.constantFrom('incr', 'decr'), key, num, noreply).map(([cmd, k, d, nr]) => `${cmd} ${k} ${d}${nr}\r\n`),
  fc.tuple(key, num, noreply).map(([k, e, nr]) => `touch ${k} ${e}${nr}\r\n`),
  fc.tuple(key, fc.constantFrom('', ' 0', ' 1', ' noreply', ' 0 noreply')).map(([k, rest]) => `delete ${k}${rest}\r\n`),
  fc.constantFrom('flush_all\r\n', 'flush_all 0\r\n', 'flush_all 10 noreply\r\n', 'version\r\n', 'verbosity 1\r\n', 'verbosity\r\n', 'bogus\r\n', '\r\n', '\n', 'get a\n', 'stats reset\r\n'),
  fc.string({ maxLength: 20 }).map((s) => `${s}\r\n`),
);

test('memcached framing: random pipelines cut into random chunks answer as when sent whole (property)', () => {
  fc.assert(
    fc.property(
      fc.array(command, { minLength: 1, maxLength: 25 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (commands, rawCuts) => {
        const input = Buffer.from(commands.join(''), 'latin1');
        const cuts = rawCuts.map((c) => c % (input.length + 1)).sort((x, y) => x - y);
        assert.deepEqual(run(input, cuts), run(input));
      },
    ),
    { numRuns: 300 },
  );
});

test('memcached framing: a line with no end past 2048 bytes is "CLIENT_ERROR line too long" and the connection closes', () => {
  const { client: c } = newCache();
  assert.equal(c.send('x'.repeat(2048)), '', '2048 bytes: memcached still waits');
  assert.ok(!c.ended);
  assert.equal(c.send('y'), 'CLIENT_ERROR line too long\r\n');
  assert.ok(c.ended);
  const { client: d } = newCache();
  assert.equal(d.send(`set ${'k'.repeat(3000)} 0 0 1\r\nx\r\n`), 'CLIENT_ERROR line too long\r\n', 'whole in one chunk: the same rule');
  assert.ok(d.ended);
  const { client: e } = newCache();
  assert.equal(e.send(`${'x'.repeat(2046)}\r\n`), 'ERROR\r\n', '2048 bytes with the \\r, then \\n: a line');
});

test('memcached framing: get and gets lines may be long (many keys), up to maxGetLineBytes', () => {
  const { client: c } = newCache({ maxGetLineBytes: 10_000 });
  c.send('set a 0 0 1\r\nx\r\n');
  const keys = Array.from({ length: 1200 }, (_, i) => (i === 600 ? 'a' : `key${i}`)).join(' ');
  assert.ok(keys.length > 2048 && keys.length < 10_000);
  assert.equal(c.send(`get ${keys}\r\n`), 'VALUE a 0 1\r\nx\r\nEND\r\n');
  // Cut just after "ge": the rule needs the joined start of the line.
  c.session.feed(Buffer.from('  ge'));
  c.session.feed(Buffer.from(`ts ${keys}`));
  assert.equal(c.send('\r\n'), 'VALUE a 0 1 1\r\nx\r\nEND\r\n');
  assert.equal(c.send(`gat 0 ${keys}\r\n`), 'CLIENT_ERROR line too long\r\n', 'only get and gets may pass 2048 bytes (memcached)');
  const { client: d } = newCache({ maxGetLineBytes: 10_000 });
  assert.equal(d.send(`get ${'k '.repeat(5000)}`), 'CLIENT_ERROR line too long\r\n');
  assert.ok(d.ended);
});

test('memcached back pressure: a blocked output stops the session after the command; resume() goes on in order', () => {
  const { client: c } = newCache();
  c.accept = false;
  assert.equal(c.session.feed(Buffer.from('set a 0 0 1\r\nx\r\nget a\r\nversion\r\n')), false);
  assert.equal(c.take(), 'STORED\r\n', 'nothing after the reply that filled the output');
  assert.ok(c.session.paused);
  assert.equal(c.session.feed(Buffer.from('delete a\r\n')), false, 'input while paused is queued');
  assert.equal(c.take(), '');
  assert.equal(c.session.resume(), false, 'still blocked: one more command');
  assert.equal(c.take(), 'VALUE a 0 1\r\nx\r\nEND\r\n');
  c.accept = true;
  assert.equal(c.session.resume(), true);
  assert.equal(c.take(), 'VERSION 1.6.0-shoal\r\nDELETED\r\n');
  assert.ok(!c.session.paused);
});

test('memcached back pressure: a data block split by a blocked output is kept whole', () => {
  const { client: c } = newCache();
  c.accept = false;
  assert.equal(c.session.feed(Buffer.from('version\r\nset a 0 0 10\r\n01234')), false);
  c.accept = true;
  assert.equal(c.session.resume(), true);
  assert.equal(c.send('56789\r\nget a\r\n'), 'VERSION 1.6.0-shoal\r\nSTORED\r\nVALUE a 0 10\r\n0123456789\r\nEND\r\n');
});

test('memcached back pressure: when the peer ends its side, the input it sent is answered before the end', () => {
  const { client: c } = newCache();
  c.accept = false;
  c.session.feed(Buffer.from('version\r\nversion\r\nversion\r\n'));
  c.session.finish();
  assert.ok(!c.ended, 'not while input waits');
  assert.equal(c.take(), 'VERSION 1.6.0-shoal\r\n');
  c.accept = true;
  c.session.resume();
  assert.equal(c.take(), 'VERSION 1.6.0-shoal\r\nVERSION 1.6.0-shoal\r\n');
  assert.ok(c.ended);
  const { client: d } = newCache();
  d.send('set a 0 0 5\r\nab');
  d.session.finish();
  assert.ok(d.ended, 'an unfinished data block is dropped with the connection');
});
