import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newCache } from './memcached-harness.js';

test('memcached: set then get and gets (several keys, misses left out, END last)', () => {
  const { client: c } = newCache();
  assert.equal(c.send('set a 5 0 3\r\nabc\r\n'), 'STORED\r\n');
  assert.equal(c.send('set b 0 0 0\r\n\r\n'), 'STORED\r\n');
  assert.equal(c.send('get a nope b\r\n'), 'VALUE a 5 3\r\nabc\r\nVALUE b 0 0\r\n\r\nEND\r\n');
  assert.equal(c.send('gets a b\r\n'), 'VALUE a 5 3 1\r\nabc\r\nVALUE b 0 0 2\r\n\r\nEND\r\n');
  assert.equal(c.send('get nope\r\n'), 'END\r\n');
  assert.equal(c.send('get a a\r\n'), 'VALUE a 5 3\r\nabc\r\nVALUE a 5 3\r\nabc\r\nEND\r\n');
});

test('memcached: data blocks are binary: \\r\\n, NUL and high bytes inside a value come back unchanged', () => {
  const { client: c } = newCache();
  const value = Buffer.from([0, 13, 10, 255, 13, 10, 0x80, 32]);
  c.session.feed(Buffer.concat([Buffer.from(`set bin 0 0 ${value.length}\r\n`), value, Buffer.from('\r\n')]));
  assert.equal(c.take(), 'STORED\r\n');
  c.session.feed(Buffer.from('get bin\r\n'));
  const out = Buffer.concat(c.out);
  c.out.length = 0;
  assert.deepEqual(out, Buffer.concat([Buffer.from(`VALUE bin 0 ${value.length}\r\n`), value, Buffer.from('\r\nEND\r\n')]));
});

test('memcached: add stores only a new key, replace only an existing one', () => {
  const { client: c } = newCache();
  assert.equal(c.send('add k 1 0 1\r\nx\r\n'), 'STORED\r\n');
  assert.equal(c.send('add k 2 0 1\r\ny\r\n'), 'NOT_STORED\r\n');
  assert.equal(c.send('replace nope 0 0 1\r\nz\r\n'), 'NOT_STORED\r\n');
  assert.equal(c.send('replace k 3 0 2\r\nzz\r\n'), 'STORED\r\n');
  assert.equal(c.send('get k nope\r\n'), 'VALUE k 3 2\r\nzz\r\nEND\r\n');
});

test('memcached: append and prepend keep the old flags and expiry and need an existing key', () => {
  const { client: c, clock } = newCache();
  assert.equal(c.send('append k 0 0 1\r\nx\r\n'), 'NOT_STORED\r\n');
  assert.equal(c.send('prepend k 0 0 1\r\nx\r\n'), 'NOT_STORED\r\n');
  assert.equal(c.send('set k 7 10 3\r\nmid\r\n'), 'STORED\r\n');
  assert.equal(c.send('append k 99 0 4\r\n-end\r\n'), 'STORED\r\n');
  assert.equal(c.send('prepend k 98 1000 6\r\nstart-\r\n'), 'STORED\r\n');
  assert.equal(c.send('gets k\r\n'), 'VALUE k 7 13 3\r\nstart-mid-end\r\nEND\r\n');
  clock.advanceBy(10_000); // the exptime of the set, not the 1000 s of the prepend
  assert.equal(c.send('get k\r\n'), 'END\r\n');
});

test('memcached: append past the item size limit is NOT_STORED and leaves the value', () => {
  const { client: c } = newCache({ maxItemSize: 1024 });
  // itemSize: 56 + key 1 + NUL 1 + value + 2 <= 1024 → at most 964 bytes of value.
  assert.equal(c.send(`set k 0 0 960\r\n${'a'.repeat(960)}\r\n`), 'STORED\r\n');
  assert.equal(c.send('append k 0 0 5\r\nbbbbb\r\n'), 'NOT_STORED\r\n');
  assert.equal(c.send('append k 0 0 4\r\nbbbb\r\n'), 'STORED\r\n');
  assert.equal(c.send('get k\r\n'), `VALUE k 0 964\r\n${'a'.repeat(960)}bbbb\r\nEND\r\n`);
});

test('memcached: cas stores only when the unique matches; EXISTS, NOT_FOUND; every change makes a new unique', () => {
  const { client: c } = newCache();
  assert.equal(c.send('cas k 0 0 1 1\r\nx\r\n'), 'NOT_FOUND\r\n');
  assert.equal(c.send('set k 0 0 1\r\na\r\n'), 'STORED\r\n');
  assert.equal(c.send('gets k\r\n'), 'VALUE k 0 1 1\r\na\r\nEND\r\n');
  assert.equal(c.send('cas k 4 0 1 2\r\nb\r\n'), 'EXISTS\r\n');
  assert.equal(c.send('cas k 4 0 1 1\r\nb\r\n'), 'STORED\r\n');
  assert.equal(c.send('cas k 4 0 1 1\r\nc\r\n'), 'EXISTS\r\n', 'the unique changed with the store');
  assert.equal(c.send('gets k\r\n'), 'VALUE k 4 1 2\r\nb\r\nEND\r\n');
  assert.equal(c.send('append k 0 0 1\r\nc\r\ntouch k 100\r\ngets k\r\n'), 'STORED\r\nTOUCHED\r\nVALUE k 4 2 3\r\nbc\r\nEND\r\n', 'touch keeps the unique');
  assert.equal(c.send('cas k 0 0 1 18446744073709551615\r\nx\r\n'), 'EXISTS\r\n');
  assert.equal(c.send('cas k 0 0 1 18446744073709551616\r\nx\r\n'), 'CLIENT_ERROR bad command line format\r\nERROR\r\n');
  assert.equal(c.send('cas k 0 0 1 -1\r\nx\r\n'), 'CLIENT_ERROR bad command line format\r\nERROR\r\n');
  assert.equal(c.send('cas k 0 0 1\r\nx\r\n'), 'ERROR\r\nERROR\r\n', 'cas without its unique');
  const { cache } = c;
  assert.deepEqual([cache.stats.casMisses, cache.stats.casHits, cache.stats.casBadval], [1, 1, 3]);
});

test('memcached: delete, its old "0" hold time, and the usage error', () => {
  const { client: c } = newCache();
  c.send('set a 0 0 1\r\nx\r\nset b 0 0 1\r\nx\r\n');
  assert.equal(c.send('delete a\r\n'), 'DELETED\r\n');
  assert.equal(c.send('delete a\r\n'), 'NOT_FOUND\r\n');
  assert.equal(c.send('delete b 0\r\n'), 'DELETED\r\n');
  const usage = 'CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n';
  assert.equal(c.send('delete b 1\r\n'), usage);
  assert.equal(c.send('delete b x y\r\n'), usage);
  assert.equal(c.send('delete\r\ndelete a b c d\r\n'), 'ERROR\r\nERROR\r\n');
  assert.equal(c.send('delete b 0 noreply\r\ndelete b noreply\r\ndelete b 1 noreply\r\n'), '');
});

test('memcached: flags are 32-bit (4294967296 keeps the low bits, as memcached does); bad numbers are refused', () => {
  const { client: c } = newCache();
  assert.equal(c.send('set a 4294967295 0 1\r\nx\r\nget a\r\n'), 'STORED\r\nVALUE a 4294967295 1\r\nx\r\nEND\r\n');
  assert.equal(c.send('set a 4294967296 0 1\r\nx\r\nget a\r\n'), 'STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n');
  assert.equal(c.send('set a +5 +0 +1\r\nx\r\nget a\r\n'), 'STORED\r\nVALUE a 5 1\r\nx\r\nEND\r\n');
  // A refused command line does not swallow the data block: it is read as a command.
  for (const bad of ['set a -1 0 1', 'set a x 0 1', 'set a 0 0x 1', 'set a 0 0 -1', 'set a 0 0 1x', 'set a 0 0 99999999999999999999'])
    assert.equal(c.send(`${bad}\r\nx\r\n`), 'CLIENT_ERROR bad command line format\r\nERROR\r\n', bad);
  assert.equal(c.send('set a 0 0\r\nx\r\n'), 'ERROR\r\nERROR\r\n', 'too few tokens');
  assert.equal(c.send('set a 0 0 1 noreply extra\r\nx\r\n'), 'ERROR\r\nERROR\r\n', 'too many tokens');
  assert.equal(c.send('set a 0 0 1 extra\r\nx\r\n'), 'STORED\r\n', 'a sixth token that is not noreply is ignored');
});

test('memcached: keys longer than 250 bytes are a bad command line; control characters are key bytes, as in memcached (memcaslap sends them)', () => {
  const { client: c } = newCache();
  const k250 = 'k'.repeat(250);
  const k251 = 'k'.repeat(251);
  assert.equal(c.send(`set ${k250} 0 0 1\r\nx\r\nget ${k250}\r\n`), `STORED\r\nVALUE ${k250} 0 1\r\nx\r\nEND\r\n`);
  assert.equal(c.send(`set ${k251} 0 0 1\r\nx\r\n`), 'CLIENT_ERROR bad command line format\r\nERROR\r\n');
  assert.equal(c.send(`set a\tb 0 0 1\r\nx\r\nget a\tb\r\n`), 'STORED\r\nVALUE a\tb 0 1\r\nx\r\nEND\r\n', 'a tab is part of the key');
  assert.equal(c.send(`set a\x7fb 0 0 1\r\nx\r\nget a\x7fb\r\n`), 'STORED\r\nVALUE a\x7fb 0 1\r\nx\r\nEND\r\n', 'DEL too');
  const memcaslapKey = '\x10'.repeat(8) + 'sr2km2d2sZ7jgy8VW1rbTQLeSBS';
  assert.equal(c.send(`set ${memcaslapKey} 0 0 1\r\nx\r\nget ${memcaslapKey}\r\n`), `STORED\r\nVALUE ${memcaslapKey} 0 1\r\nx\r\nEND\r\n`, "memcaslap's keys");
  assert.equal(c.send('set k\u00e9y 0 0 1\r\nx\r\nget k\u00e9y\r\n'), 'STORED\r\nVALUE k\u00e9y 0 1\r\nx\r\nEND\r\n', 'bytes above 127 are fine');
  const bad = 'CLIENT_ERROR bad command line format\r\n';
  assert.equal(c.send(`get ${k250} ${k251}\r\n`), bad, 'no VALUE lines and no END when a key is bad');
  assert.equal(c.send(`gets a\x01\r\n`), 'END\r\n', 'a miss, not an error');
  assert.equal(c.send(`gat 0 ${k251}\r\n`), bad);
  assert.equal(c.send(`delete ${k251}\r\n`), bad);
  assert.equal(c.send(`incr ${k251} 1\r\n`), bad);
  assert.equal(c.send(`decr ${k251} 1\r\n`), bad);
  assert.equal(c.send(`touch ${k251} 1\r\n`), bad);
});

test('memcached: a data block not followed by \\r\\n is "CLIENT_ERROR bad data chunk"; parsing goes on after those two bytes', () => {
  const { client: c } = newCache();
  c.send('set a 0 0 1\r\n1\r\n');
  // 3 bytes announced: "abc" then "de" stands where "\r\n" should; then "\r\n" is an empty line.
  assert.equal(c.send('set a 0 0 3\r\nabcde\r\nget a\r\n'), 'CLIENT_ERROR bad data chunk\r\nERROR\r\nVALUE a 0 1\r\n1\r\nEND\r\n');
  assert.equal(c.send('set a 0 0 1\nx\nget a\n'), 'CLIENT_ERROR bad data chunk\r\nERROR\r\n', 'bare \\n after a data block');
  assert.equal(c.send('set a 0 0 3 noreply\r\nabcde\r\n'), 'ERROR\r\n', 'noreply silences the error too (memcached)');
  assert.equal(c.cache.stats.cmdSet, 4);
});

test('memcached: a value over the item size limit is "SERVER_ERROR object too large for cache"; its data block is swallowed', () => {
  const { client: c, cache } = newCache();
  // memcached 1.6 on 64-bit: key "k", flags 0 → 1,048,516 bytes fit; flags ≠ 0 cost 4 more.
  assert.equal(c.send(`set k 0 0 1048516\r\n${'v'.repeat(1048516)}\r\n`), 'STORED\r\n');
  assert.equal(c.send(`set k 1 0 1048512\r\n${'v'.repeat(1048512)}\r\n`), 'STORED\r\n');
  assert.equal(c.send(`set k 1 0 1048513\r\n${'v'.repeat(1048513)}\r\nget k\r\n`), 'SERVER_ERROR object too large for cache\r\nEND\r\n', 'a failed set drops the old value');
  c.send('set q 0 0 1\r\nx\r\n');
  assert.equal(c.send(`add q 0 0 2000000\r\n${'v'.repeat(2000000)}\r\nget q\r\n`), 'SERVER_ERROR object too large for cache\r\nVALUE q 0 1\r\nx\r\nEND\r\n', 'a failed add keeps it');
  // The swallowed block is its length plus two bytes, whatever they are; noreply silences the error.
  assert.equal(c.send(`set q 0 0 2000000 noreply\r\n${'v'.repeat(2000000)}XXversion\r\n`), 'VERSION 1.6.0-shoal\r\n');
  assert.equal(cache.stats.storeTooLarge, 3);
});

test('memcached: an item size limit above the memory limit is refused when the cache is made', () => {
  assert.throws(() => newCache({ memoryLimit: 4096, maxItemSize: 8192 }), /maxItemSize \(8192\) exceeds memoryLimit \(4096\)/);
  assert.throws(() => newCache({ memoryLimit: 0 }), RangeError);
  const { client: c } = newCache({ memoryLimit: 1000, maxItemSize: 1000 });
  // 56 + 1 + 1 + 940 + 2 = 1000 fits exactly; one byte more does not.
  assert.equal(c.send(`set k 0 0 940\r\n${'v'.repeat(940)}\r\n`), 'STORED\r\n');
  assert.equal(c.send(`set k 0 0 941\r\n${'v'.repeat(941)}\r\n`), 'SERVER_ERROR object too large for cache\r\n');
});
