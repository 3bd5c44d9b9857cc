/**
 * Shoal's http client (node:http with an Agent whose connections are Shoal sockets) on a
 * TAP link, against a node:http server on the kernel's TCP inside the test's namespace:
 * keep-alive GETs and a 4 MB POST, compared by SHA-256.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { KERNEL_IP, requireTap, withTapWorld } from './tap-netns.js';

const PORT = 8080;
/** The kernel-side server: GET /n answers n bytes of a pattern; POST answers the SHA-256 of the body. */
const SERVER = `
const http = require('node:http');
const crypto = require('node:crypto');
http.createServer((req, res) => {
  if (req.method === 'POST') {
    const h = crypto.createHash('sha256');
    req.on('data', (d) => h.update(d));
    req.on('end', () => res.end(h.digest('hex')));
    return;
  }
  const n = Number(req.url.slice(1)) || 0;
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = (i * 7) & 0xff;
  res.end(body);
}).listen(${PORT}, '${KERNEL_IP}', () => console.log('listening'));
`;

test('tap: node:http on Shoal sockets against a kernel http server: keep-alive GETs and a 4 MB POST', { timeout: 120_000 }, async (t) => {
  if (!requireTap(t)) return;
  await withTapWorld({}, async (w) => {
    const server = w.spawn('node', ['-e', SERVER]);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening')) resolve();
      });
      server.once('exit', (code) => reject(new Error(`kernel-side server exited (${code})`)));
    });
    const host = w.host!;
    let connections = 0;
    class ShoalAgent extends http.Agent {
      override createConnection(o: http.ClientRequestArgs): Duplex {
        connections++;
        return host.net.createConnection({ port: Number(o.port), host: String(o.host) });
      }
    }
    const agent = new ShoalAgent({ keepAlive: true, maxSockets: 1 });
    const get = (n: number): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        http.get({ host: KERNEL_IP, port: PORT, path: `/${n}`, agent }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve(Buffer.concat(parts)));
        }).on('error', reject);
      });
    for (const n of [0, 1000, 100_000, 1_000_000]) {
      const body = await get(n);
      assert.equal(body.length, n);
      for (let i = 0; i < n; i += 4099) assert.equal(body[i], (i * 7) & 0xff);
    }
    assert.equal(connections, 1, 'keep-alive: one connection for every request');
    const payload = Buffer.alloc(4 << 20).map((_, i) => (i * 13 + (i >>> 12)) & 0xff);
    const digest = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: KERNEL_IP, port: PORT, path: '/', method: 'POST', agent, headers: { 'content-length': payload.length } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(payload);
    });
    assert.equal(digest, createHash('sha256').update(payload).digest('hex'));
    agent.destroy();
  });
});
