import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { serveTcpEcho, serveUdpEcho } from '../../src/apps/echo.js';
import { closeServer, listenLocal, waitFor } from './net-helpers.js';
import { FakeServer } from './duplex-pair.js';

test('echo over TCP: 20 MB come back unchanged, and the server ends its side after the client ends', { timeout: 60_000 }, async () => {
  const { server, port } = await listenLocal();
  serveTcpEcho(server);
  try {
    const payload = randomBytes(20 * 1024 * 1024);
    const c = net.connect(port, '127.0.0.1');
    const hash = createHash('sha256');
    let received = 0;
    c.on('data', (d: Buffer) => {
      hash.update(d);
      received += d.length;
    });
    c.end(payload);
    await once(c, 'end');
    assert.equal(received, payload.length);
    assert.equal(hash.digest('hex'), createHash('sha256').update(payload).digest('hex'));
  } finally {
    await closeServer(server);
  }
});

test('echo over TCP: a client that does not read makes the server stop reading (back pressure through pipe)', { timeout: 60_000 }, async () => {
  const { server, port } = await listenLocal();
  serveTcpEcho(server);
  let serverSocket: net.Socket | undefined;
  server.on('connection', (s) => (serverSocket = s));
  try {
    const c = net.connect(port, '127.0.0.1');
    await once(c, 'connect');
    c.pause();
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    // Write until no 'drain' comes for half a second: the kernel's buffers both ways are full.
    for (;;) {
      const more = c.write(chunk);
      written += chunk.length;
      assert.ok(written < 1024 * 1024 * 1024, 'a gigabyte went in and nothing stopped it');
      if (more) continue;
      const drained = await Promise.race([once(c, 'drain').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
      if (!drained) break;
    }
    assert.ok(serverSocket!.isPaused(), 'the server stopped reading');
    assert.ok(serverSocket!.writableLength <= 1024 * 1024, `the server queued ${serverSocket!.writableLength} bytes`);
    let received = 0;
    c.on('data', (d: Buffer) => (received += d.length));
    c.resume();
    c.end();
    await once(c, 'end');
    assert.equal(received, written);
  } finally {
    await closeServer(server);
  }
});

test('echo over TCP: works on a net.Server-like object with Duplex sockets', async () => {
  const fake = new FakeServer();
  serveTcpEcho(fake);
  const conn = fake.connect();
  const chunks: Buffer[] = [];
  conn.on('data', (d: Buffer) => chunks.push(d));
  const payload = randomBytes(300_000);
  conn.end(payload);
  await once(conn, 'end');
  assert.ok(Buffer.concat(chunks).equals(payload));
});

test('echo over UDP (node:dgram): every datagram comes back to its sender, empty and 60000-byte ones too', async () => {
  const server = dgram.createSocket('udp4');
  server.bind(0, '127.0.0.1');
  await once(server, 'listening');
  const counts = serveUdpEcho(server);
  const client = dgram.createSocket('udp4');
  client.bind(0, '127.0.0.1');
  await once(client, 'listening');
  try {
    const port = server.address().port;
    for (const size of [0, 1, 512, 1472, 9000, 60000]) {
      const msg = randomBytes(size);
      const reply = once(client, 'message') as Promise<[Buffer, dgram.RemoteInfo]>;
      client.send(msg, port, '127.0.0.1');
      const [got, rinfo] = await reply;
      assert.ok(got.equals(msg), `size ${size}`);
      assert.equal(rinfo.port, port);
    }
    await waitFor(() => counts.echoed === 6);
    assert.equal(counts.failed, 0);
  } finally {
    client.close();
    server.close();
  }
});
