/** The applications on Shoal itself: servers on one host of a memory network, clients on another. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { MemoryNetwork } from '../../src/api/network.js';
import type { Host } from '../../src/api/host.js';
import { serveMemcached } from '../../src/apps/memcached/index.js';
import { serveHttp } from '../../src/apps/http/index.js';
import { serveTcpEcho, serveUdpEcho } from '../../src/apps/echo.js';

/** Sends `text` on a Shoal connection and collects the reply until `done(reply)`. */
async function converse(client: Host, port: number, text: string, done: (reply: string) => boolean): Promise<string> {
  const s = client.net.connect(port, '10.0.0.1');
  await once(s, 'connect');
  let reply = '';
  const finished = new Promise<void>((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (done(reply)) resolve();
    });
    s.on('error', reject);
  });
  s.write(text);
  await finished;
  s.destroy();
  return reply;
}

test('memcached on Shoal: storage commands, get, incr and stats from a Shoal client', async () => {
  const net = new MemoryNetwork();
  try {
    const server = net.addHost();
    const client = net.addHost();
    const srv = server.net.createServer().listen(11211);
    serveMemcached(srv);
    const value = 'x'.repeat(5000); // more than one segment
    const reply = await converse(client, 11211, `set k 5 0 ${value.length}\r\n${value}\r\nadd k 0 0 1\r\nz\r\nset n 0 0 2\r\n41\r\nincr n 1\r\nget k n\r\n`, (r) => r.endsWith('END\r\n'));
    assert.equal(reply, `STORED\r\nNOT_STORED\r\nSTORED\r\n42\r\nVALUE k 5 ${value.length}\r\n${value}\r\nVALUE n 0 2\r\n42\r\nEND\r\n`);
    const stats = await converse(client, 11211, 'stats\r\n', (r) => r.endsWith('END\r\n'));
    assert.match(stats, /STAT curr_items 2\r\n/);
    assert.match(stats, /STAT total_connections 2\r\n/);
    srv.close();
  } finally {
    net.close();
  }
});

test('http app on Shoal: static file and a 4 MB POST /echo through node:http on Shoal sockets both ways', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-http-'));
  const net = new MemoryNetwork();
  try {
    writeFileSync(join(dir, 'hello.txt'), 'hello from Shoal\n');
    const server = net.addHost();
    const client = net.addHost();
    const srv = server.net.createServer().listen(80);
    const httpServer = serveHttp(srv, { root: dir });
    // An Agent whose connections are Shoal sockets (as test/api/http.test.ts does).
    class ShoalAgent extends http.Agent {
      override createConnection(o: http.ClientRequestArgs): Duplex {
        return client.net.createConnection({ port: Number(o.port), host: String(o.host) });
      }
    }
    const agent = new ShoalAgent({ keepAlive: true });
    const get = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      http.get({ host: '10.0.0.1', port: 80, path: '/hello.txt', agent }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
      }).on('error', reject);
    });
    assert.equal(get.status, 200);
    assert.match(get.type, /^text\/plain/);
    assert.equal(get.body, 'hello from Shoal\n');
    const body = Buffer.alloc(4 << 20);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >>> 9)) & 0xff;
    const echoed = await new Promise<Buffer>((resolve, reject) => {
      const req = http.request({ host: '10.0.0.1', port: 80, path: '/echo', method: 'POST', agent, headers: { 'content-length': body.length } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve(Buffer.concat(parts)));
      });
      req.on('error', reject);
      req.end(body);
    });
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(echoed), sha(body));
    agent.destroy();
    httpServer.close();
    srv.close();
  } finally {
    net.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('echo on Shoal: TCP and UDP', async () => {
  const net = new MemoryNetwork();
  try {
    const server = net.addHost();
    const client = net.addHost();
    const srv = server.net.createServer().listen(7);
    serveTcpEcho(srv);
    const text = 'echo '.repeat(2000);
    assert.equal(await converse(client, 7, text, (r) => r.length >= text.length), text);
    const u = server.dgram.createSocket('udp4');
    serveUdpEcho(u);
    u.bind(7);
    await once(u, 'listening');
    const c = client.dgram.createSocket('udp4');
    c.send('a datagram', 7, '10.0.0.1');
    const [msg] = (await once(c, 'message')) as [Buffer];
    assert.equal(msg.toString(), 'a datagram');
    c.close();
    u.close();
    srv.close();
  } finally {
    net.close();
  }
});
