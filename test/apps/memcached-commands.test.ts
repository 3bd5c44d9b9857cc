import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newCache, stat } from './memcached-harness.js';

test('memcached: incr and decr on 64-bit unsigned values: wrap on incr, floor 0 on decr', () => {
  const { client: c, cache } = newCache();
  c.send('set n 3 0 2\r\n10\r\n');
  assert.equal(c.send('incr n 5\r\n'), '15\r\n');
  assert.equal(c.send('decr n 3\r\n'), '12\r\n');
  assert.equal(c.send('decr n 100\r\n'), '0\r\n');
  assert.equal(c.send('set m 0 0 20\r\n18446744073709551615\r\nincr m 2\r\n'), 'STORED\r\n1\r\n');
  assert.equal(c.send('incr m 18446744073709551615\r\n'), '0\r\n', '1 + (2^64 - 1) wraps to 0');
  assert.equal(c.send('get n\r\n'), 'VALUE n 3 2\r\n0 \r\nEND\r\n', 'flags kept; a shorter number is space-padded (protocol.txt)');
  assert.deepEqual([cache.stats.incrHits, cache.stats.decrHits], [3, 2]);
});

test('memcached: incr/decr pad in place when the result is not longer, make the value longer otherwise', () => {
  const { client: c } = newCache();
  c.send('set n 0 0 3\r\n100\r\n');
  assert.equal(c.send('decr n 1\r\nget n\r\n'), '99\r\nVALUE n 0 3\r\n99 \r\nEND\r\n');
  assert.equal(c.send('incr n 1\r\nget n\r\n'), '100\r\nVALUE n 0 3\r\n100\r\nEND\r\n');
  assert.equal(c.send('incr n 1000\r\ngets n\r\n'), '1100\r\nVALUE n 0 4 4\r\n1100\r\nEND\r\n', 'each change makes a new cas unique');
});

test('memcached: incr/decr read values as C does (leading space, digits then space) and refuse the rest', () => {
  const { client: c, cache } = newCache();
  const nonNumeric = 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n';
  assert.equal(c.send('set a 0 0 2\r\n 5\r\nincr a 1\r\n'), 'STORED\r\n6\r\n');
  assert.equal(c.send('set a 0 0 4\r\n5 ab\r\nincr a 1\r\n'), 'STORED\r\n6\r\n');
  for (const v of ['-5', 'abc', '12x', '', '18446744073709551616', ' '])
    assert.equal(c.send(`set a 0 0 ${v.length}\r\n${v}\r\nincr a 1\r\n`), `STORED\r\n${nonNumeric}`, JSON.stringify(v));
  assert.equal(c.send('decr a 1\r\n'), nonNumeric);
  const badDelta = 'CLIENT_ERROR invalid numeric delta argument\r\n';
  c.send('set a 0 0 1\r\n5\r\n');
  assert.equal(c.send('incr a -1\r\nincr a abc\r\nincr a 18446744073709551616\r\n'), badDelta.repeat(3));
  assert.equal(c.send('incr nope 1\r\ndecr nope 1\r\n'), 'NOT_FOUND\r\nNOT_FOUND\r\n');
  assert.equal(c.send('incr\r\nincr a\r\nincr a 1 noreply x\r\n'), 'ERROR\r\nERROR\r\nERROR\r\n');
  assert.equal(c.send('incr a 1 x\r\n'), '6\r\n', 'a third argument that is not noreply is ignored');
  assert.deepEqual([cache.stats.incrMisses, cache.stats.decrMisses], [1, 1]);
});

test('memcached: touch sets a new expiry (TOUCHED / NOT_FOUND); a bad exptime is refused', () => {
  const { client: c, clock, cache } = newCache();
  c.send('set k 0 10 1\r\nx\r\n');
  assert.equal(c.send('touch k 100\r\n'), 'TOUCHED\r\n');
  clock.advanceBy(50_000);
  assert.equal(c.send('get k\r\n'), 'VALUE k 0 1\r\nx\r\nEND\r\n', 'alive after the first 10 s');
  assert.equal(c.send('touch nope 1\r\n'), 'NOT_FOUND\r\n');
  assert.equal(c.send('touch k x\r\n'), 'CLIENT_ERROR invalid exptime argument\r\n');
  assert.equal(c.send('touch k\r\ntouch k 1 2 3\r\n'), 'ERROR\r\nERROR\r\n');
  assert.equal(c.send('touch k -1\r\nget k\r\n'), 'TOUCHED\r\nEND\r\n', 'a negative exptime expires it');
  assert.deepEqual([cache.stats.cmdTouch, cache.stats.touchHits, cache.stats.touchMisses], [3, 2, 1]);
});

test('memcached: gat and gats return values and set their expiry; the cas unique stays', () => {
  const { client: c, clock } = newCache();
  c.send('set a 1 5 1\r\nx\r\nset b 2 0 1\r\ny\r\n');
  assert.equal(c.send('gat 100 a nope b\r\n'), 'VALUE a 1 1\r\nx\r\nVALUE b 2 1\r\ny\r\nEND\r\n');
  assert.equal(c.send('gats 100 a\r\n'), 'VALUE a 1 1 1\r\nx\r\nEND\r\n');
  clock.advanceBy(99_999);
  assert.equal(c.send('get a b\r\n'), 'VALUE a 1 1\r\nx\r\nVALUE b 2 1\r\ny\r\nEND\r\n');
  clock.advanceBy(1);
  assert.equal(c.send('get a b\r\n'), 'END\r\n', 'both expire 100 s after the gat');
  assert.equal(c.send('gat 10\r\n'), 'END\r\n', 'no keys: just END, as memcached');
  assert.equal(c.send('gat x a\r\n'), 'CLIENT_ERROR invalid exptime argument\r\n');
  assert.equal(c.send('gat\r\nget\r\ngets\r\n'), 'ERROR\r\nERROR\r\nERROR\r\n');
});

test('memcached: expiry: 0 never, up to 30 days relative, beyond that a Unix time, negative at once (fake clock)', () => {
  const { client: c, clock, cache } = newCache();
  const nowS = (cache.now() / 1000) | 0;
  c.send('set never 0 0 1\r\nx\r\n');
  c.send('set rel 0 2 1\r\nx\r\n');
  c.send('set month 0 2592000 1\r\nx\r\n'); // exactly 30 days: still relative
  c.send('set past 0 2592001 1\r\nx\r\n'); // a Unix time in 1970
  c.send(`set abs 0 ${nowS + 5} 1\r\nx\r\n`);
  c.send('set neg 0 -1 1\r\nx\r\n');
  assert.equal(c.send('get past neg\r\n'), 'END\r\n');
  clock.advanceBy(1999);
  assert.equal(c.send('get rel\r\n'), 'VALUE rel 0 1\r\nx\r\nEND\r\n');
  clock.advanceBy(1);
  assert.equal(c.send('get rel\r\n'), 'END\r\n', 'gone at exactly 2 s');
  clock.advanceBy(3000);
  assert.equal(c.send('get abs\r\n'), 'END\r\n', 'gone at the Unix time');
  clock.advanceBy(2_592_000_000 - 5000 - 1);
  assert.equal(c.send('get month never\r\n'), 'VALUE month 0 1\r\nx\r\nVALUE never 0 1\r\nx\r\nEND\r\n');
  clock.advanceBy(1);
  assert.equal(c.send('get month never\r\n'), 'VALUE never 0 1\r\nx\r\nEND\r\n');
  // exptime reads as a 32-bit int, as memcached: 2147483648 wraps to a negative, expired at once.
  assert.equal(c.send('set w 0 2147483648 1\r\nx\r\nget w\r\n'), 'STORED\r\nEND\r\n');
  assert.equal(cache.stats.getExpired, 6, 'past, neg, rel, abs, month, w');
});

test('memcached: add, replace and incr see an expired item as missing', () => {
  const { client: c, clock } = newCache();
  c.send('set k 0 1 1\r\n5\r\n');
  clock.advanceBy(1000);
  assert.equal(c.send('incr k 1\r\nreplace k 0 0 1\r\nx\r\nadd k 0 0 1\r\ny\r\nget k\r\n'), 'NOT_FOUND\r\nNOT_STORED\r\nSTORED\r\nVALUE k 0 1\r\ny\r\nEND\r\n');
});

test('memcached: flush_all now, with a delay (fake clock), with noreply; a bad delay is refused', () => {
  const { client: c, clock, cache } = newCache();
  c.send('set a 0 0 1\r\nx\r\nset b 0 0 1\r\nx\r\n');
  assert.equal(c.send('flush_all\r\nget a b\r\n'), 'OK\r\nEND\r\n');
  assert.equal(c.send('set a 0 0 1\r\nx\r\nget a\r\n'), 'STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n', 'items stored after the flush stay');
  assert.equal(c.send('flush_all 10\r\n'), 'OK\r\n');
  clock.advanceBy(9999);
  assert.equal(c.send('set b 0 0 1\r\ny\r\nget a b\r\n'), 'STORED\r\nVALUE a 0 1\r\nx\r\nVALUE b 0 1\r\ny\r\nEND\r\n');
  clock.advanceBy(1);
  assert.equal(c.send('get a b\r\n'), 'END\r\n', 'everything stored before the delay ran out is gone');
  assert.equal(c.send('set a 0 0 1\r\nx\r\nflush_all 0\r\nget a\r\n'), 'STORED\r\nOK\r\nEND\r\n');
  assert.equal(c.send('set a 0 0 1\r\nx\r\nflush_all -5\r\nget a\r\n'), 'STORED\r\nOK\r\nEND\r\n', 'a negative delay is now');
  assert.equal(c.send('flush_all 100\r\nflush_all 0\r\nset a 0 0 1\r\nx\r\n'), 'OK\r\nOK\r\nSTORED\r\n');
  clock.advanceBy(200_000);
  assert.equal(c.send('get a\r\n'), 'VALUE a 0 1\r\nx\r\nEND\r\n', 'a later flush_all replaces a pending one');
  assert.equal(c.send('flush_all noreply\r\nflush_all 10 noreply\r\nflush_all x noreply\r\n'), '');
  assert.equal(c.send('flush_all x\r\n'), 'CLIENT_ERROR invalid exptime argument\r\n');
  assert.equal(c.send('flush_all 1 2\r\n'), 'OK\r\n', 'a second argument that is not noreply is ignored');
  assert.equal(c.send('flush_all 1 2 3\r\n'), 'ERROR\r\n');
  assert.equal(cache.stats.cmdFlush, 11, 'all but the one with too many tokens');
  assert.equal(cache.store.count, 0);
});

test('memcached: noreply silences every storage, delete, incr/decr, touch, flush_all and verbosity reply', () => {
  const { client: c, cache } = newCache();
  const silent = [
    'set a 0 0 1 noreply\r\n1\r\n',
    'add a 0 0 1 noreply\r\nx\r\n',
    'add b 0 0 1 noreply\r\n2\r\n',
    'replace b 0 0 1 noreply\r\n3\r\n',
    'replace nope 0 0 1 noreply\r\nx\r\n',
    'append b 0 0 1 noreply\r\n4\r\n',
    'prepend b 0 0 1 noreply\r\n5\r\n',
    'cas b 0 0 1 1 noreply\r\nx\r\n',
    'cas nope 0 0 1 1 noreply\r\nx\r\n',
    'incr a 1 noreply\r\n',
    'decr a 1 noreply\r\n',
    'incr nope 1 noreply\r\n',
    'incr b x noreply\r\n',
    'touch a 0 noreply\r\n',
    'touch nope 0 noreply\r\n',
    'delete nope noreply\r\n',
    'set c 0 0 1 noreply\r\nc\r\n',
    'delete c noreply\r\n',
    'set d 0 0 x noreply\r\n',
    'verbosity 1 noreply\r\n',
    'verbosity noreply\r\n',
    'flush_all 1000 noreply\r\n',
  ];
  for (const cmd of silent) assert.equal(c.send(cmd), '', JSON.stringify(cmd));
  assert.equal(c.send('get a b c\r\n'), 'VALUE a 0 1\r\n1\r\nVALUE b 0 3\r\n534\r\nEND\r\n');
  assert.equal(cache.verbosity, 1);
});

test('memcached: version, verbosity, and ERROR for unknown commands, wrong token counts and meta commands', () => {
  const { client: c, cache } = newCache({ version: '9.9.9' });
  assert.equal(c.send('version\r\nversion extra\r\n'), 'VERSION 9.9.9\r\nVERSION 9.9.9\r\n');
  assert.equal(c.send('verbosity 1\r\nverbosity 5 x\r\n'), 'OK\r\nOK\r\n');
  assert.equal(cache.verbosity, 2, 'at most 2, as memcached');
  assert.equal(c.send('verbosity x\r\n'), 'CLIENT_ERROR bad command line format\r\n');
  assert.equal(c.send('verbosity\r\nverbosity 1 2 3\r\n'), 'ERROR\r\nERROR\r\n');
  for (const line of ['', 'x', 'xyz', 'GET', 'Set a 0 0 1', 'sets a', 'adds', 'casx', 'incrx', 'deletex', 'touchx', 'mg a v', 'mn', 'flush', 'shutdown', 'stats items'])
    assert.equal(c.send(`${line}\r\n`), 'ERROR\r\n', JSON.stringify(line));
  assert.equal(c.send('\n'), 'ERROR\r\n', 'an empty line');
  assert.equal(c.send('  get   a    b  \r\n'), 'END\r\n', 'runs of spaces separate tokens');
  assert.equal(c.send('get a\0b c\r\n'), 'END\r\n', 'the line ends at a NUL byte (C string), so key "a" only');
});

test('memcached: quit closes after the replies before it; input after it is ignored', () => {
  const { client: c } = newCache();
  assert.equal(c.send('version\r\nquit\r\nversion\r\n'), 'VERSION 1.6.0-shoal\r\n');
  assert.ok(c.ended);
  assert.ok(c.session.ended);
  assert.equal(c.send('version\r\n'), '');
  const { client: d } = newCache();
  assert.equal(d.send('quit extra\r\n'), '');
  assert.ok(d.ended);
});

test('memcached: a line ending in HTTP/x closes the connection without a word, as memcached does', () => {
  const { client: c } = newCache();
  assert.equal(c.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), '');
  assert.ok(c.ended);
  const { client: d } = newCache();
  assert.equal(d.send('get / HTTP/1.1\r\n'), 'END\r\n', 'a real get of two keys');
  assert.ok(!d.ended);
});

test('memcached: stats reports the general counters; stats reset and stats settings', () => {
  const { client: c, clock, cache } = newCache({ memoryLimit: 1 << 20, maxItemSize: 1 << 16 });
  const other = cache.openSession({ write: () => true, end: () => {} });
  c.send('set a 0 0 1\r\nx\r\nset b 0 0 2\r\nyy\r\nget a b c\r\nget a\r\ndelete b\r\n');
  clock.advanceBy(3500);
  const s = c.send('stats\r\n');
  assert.ok(s.endsWith('END\r\n'));
  const expect: Record<string, string> = {
    pid: String(process.pid),
    uptime: '3',
    time: String(Math.floor(cache.now() / 1000)),
    version: '1.6.0-shoal',
    pointer_size: '64',
    curr_connections: '2',
    total_connections: '2',
    cmd_get: '4',
    cmd_set: '2',
    get_hits: '3',
    get_misses: '1',
    delete_hits: '1',
    curr_items: '1',
    total_items: '2',
    bytes: String(56 + 2 + 1 + 2), // header+cas, key and NUL, value and \r\n
    evictions: '0',
    limit_maxbytes: String(1 << 20),
  };
  for (const [name, value] of Object.entries(expect)) assert.equal(stat(s, name), value, name);
  for (const name of ['rusage_user', 'rusage_system']) assert.match(stat(s, name) ?? '', /^\d+\.\d{6}$/, name);
  for (const line of s.split('\r\n').slice(0, -2)) assert.match(line, /^STAT [a-z_]+ \S+$/);
  other.close();
  assert.equal(c.send('stats reset\r\n'), 'RESET\r\n');
  const after = c.send('stats\r\n');
  assert.equal(stat(after, 'cmd_get'), '0');
  assert.equal(stat(after, 'total_items'), '0');
  assert.equal(stat(after, 'curr_connections'), '1');
  assert.equal(stat(after, 'curr_items'), '1', 'items stay');
  const settings = c.send('stats settings\r\n');
  assert.equal(stat(settings, 'maxbytes'), String(1 << 20));
  assert.equal(stat(settings, 'item_size_max'), String(1 << 16));
  assert.ok(settings.endsWith('END\r\n'));
});
