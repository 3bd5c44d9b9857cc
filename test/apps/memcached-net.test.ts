import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { serveMemcached } from '../../src/apps/memcached/server.js';
import { LineClient, closeServer, listenLocal, waitFor } from './net-helpers.js';
import { stat } from './memcached-harness.js';
import { FakeServer } from './duplex-pair.js';

test('memcached over node:net: commands, several connections sharing the cache, stats of connections', async () => {
  const { server, port } = await listenLocal();
  const cache = serveMemcached(server);
  try {
    const a = await LineClient.connect(port);
    const b = await LineClient.connect(port);
    assert.equal(await a.ask('set k 7 0 5\r\nhello\r\n', '\r\n'), 'STORED\r\n');
    assert.equal(await b.ask('get k\r\n', 'END\r\n'), 'VALUE k 7 5\r\nhello\r\nEND\r\n');
    assert.equal(await b.ask('incr k 1\r\n', '\r\n'), 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
    const stats = await a.ask('stats\r\n', 'END\r\n');
    assert.equal(stat(stats, 'curr_connections'), '2');
    assert.equal(stat(stats, 'total_connections'), '2');
    assert.equal(stat(stats, 'curr_items'), '1');
    b.close();
    await waitFor(() => cache.stats.currConnections === 1);
    a.socket.write('quit\r\n');
    await a.waitClose();
    await waitFor(() => cache.stats.currConnections === 0);
  } finally {
    await closeServer(server);
  }
});

test('memcached over node:net: a command split across many small writes, and a big pipelined burst', async () => {
  const { server, port } = await listenLocal();
  serveMemcached(server);
  try {
    const c = await LineClient.connect(port);
    c.socket.setNoDelay(true);
    const cmd = 'set split 0 0 10\r\n0123456789\r\nget split\r\n';
    for (const ch of cmd) {
      c.socket.write(ch);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(await c.until('END\r\n'), 'STORED\r\nVALUE split 0 10\r\n0123456789\r\nEND\r\n');
    let burst = '';
    let expect = '';
    for (let i = 0; i < 2000; i++) {
      burst += `set k${i} ${i} 0 ${String(i).length}\r\n${i}\r\nget k${i}\r\n`;
      expect += `STORED\r\nVALUE k${i} ${i} ${String(i).length}\r\n${i}\r\nEND\r\n`;
    }
    assert.equal(await c.ask(burst, expect.slice(-40)), expect);
    c.close();
  } finally {
    await closeServer(server);
  }
});

test('memcached over node:net: a client that does not read makes the server pause reading (bounded), then all replies arrive', async () => {
  const { server, port } = await listenLocal();
  const cache = serveMemcached(server);
  let serverSocket: net.Socket | undefined;
  server.on('connection', (s) => (serverSocket = s));
  try {
    const c = await LineClient.connect(port);
    const value = Buffer.alloc(512 * 1024, 0x61);
    await c.ask(Buffer.concat([Buffer.from(`set big 0 0 ${value.length}\r\n`), value, Buffer.from('\r\n')]), 'STORED\r\n');
    c.socket.pause(); // stop reading: the replies pile up in the kernel, then in the server
    const gets = 400; // 200 MB of replies
    const request = Buffer.from('get big\r\n'.repeat(gets));
    c.socket.write(request);
    // The server must stop reading rather than queue 200 MB: wait until it has paused.
    const deadline = Date.now() + 10_000;
    while (!(serverSocket?.isPaused() ?? false)) {
      if (Date.now() > deadline) throw new Error('the server never paused');
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(serverSocket!.writableLength < 64 * 1024 * 1024, `output queued: ${serverSocket!.writableLength}`);
    const answeredWhilePaused = cache.stats.cmdGet;
    assert.ok(answeredWhilePaused < gets, `answered ${answeredWhilePaused} of ${gets} while the client read nothing`);
    c.socket.resume();
    const expectLength = gets * (`VALUE big 0 ${value.length}\r\n`.length + value.length + 2 + 5);
    assert.equal((await c.until(() => c.receivedLength >= expectLength, 60_000)).length, expectLength);
    assert.equal(cache.stats.cmdGet, gets);
    c.close();
  } finally {
    await closeServer(server);
  }
});

test('memcached over node:net: a line too long gets its error and the connection closes; an HTTP request is dropped', async () => {
  const { server, port } = await listenLocal();
  serveMemcached(server);
  try {
    const c = await LineClient.connect(port);
    c.socket.write('x'.repeat(5000));
    assert.equal(await c.waitClose(), 'CLIENT_ERROR line too long\r\n');
    const h = await LineClient.connect(port);
    h.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.equal(await h.waitClose(), '');
    // A client that half-closes after its commands still gets every reply.
    const d = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    d.on('data', (b: Buffer) => chunks.push(b));
    d.end('set z 0 0 1\r\nz\r\nget z\r\n');
    await once(d, 'close');
    assert.equal(Buffer.concat(chunks).toString(), 'STORED\r\nVALUE z 0 1\r\nz\r\nEND\r\n');
  } finally {
    await closeServer(server);
  }
});

test('memcached on a net.Server-like object with Duplex sockets: replies, big values through back pressure, quit ends the stream', async () => {
  const fake = new FakeServer();
  const cache = serveMemcached(fake);
  const conn = fake.connect();
  const chunks: Buffer[] = [];
  conn.on('data', (d: Buffer) => chunks.push(d));
  const value = Buffer.alloc(300_000, 0x62);
  conn.write(Buffer.concat([Buffer.from(`set v 1 0 ${value.length}\r\n`), value, Buffer.from('\r\n')]));
  conn.write('get v\r\n'.repeat(20) + 'quit\r\n');
  await once(conn, 'end');
  const head = `VALUE v 1 ${value.length}\r\n`;
  const expect = Buffer.concat([Buffer.from('STORED\r\n'), ...Array.from({ length: 20 }, () => Buffer.concat([Buffer.from(head), value, Buffer.from('\r\nEND\r\n')]))]);
  assert.ok(Buffer.concat(chunks).equals(expect));
  assert.equal(cache.stats.cmdGet, 20);
});
