/**
 * node:http, unchanged, on Shoal sockets: an `http.Server` fed the sockets of a Shoal
 * server, and `http.request` given Shoal sockets by an `http.Agent` subclass or the
 * `createConnection` option. Both ends run on one MemoryNetwork (10.0.0.1 → 10.0.0.2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { MemoryNetwork } from '../../src/api/network.js';
import { Net, type Server, type Socket } from '../../src/api/net/index.js';
import { Random } from '../../src/util/random.js';

const SERVER = '10.0.0.2';

/** An Agent whose connections are Shoal sockets (keep-alive, pooling: all Node's own). */
class ShoalAgent extends http.Agent {
  constructor(
    private readonly net: Net,
    options: http.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: http.ClientRequestArgs): Duplex {
    return this.net.createConnection({ port: Number(options.port), host: String(options.host) });
  }
}

interface Rig {
  client: Net;
  /** Every Shoal socket the http server was handed, in order. */
  serverSockets: Socket[];
  port: number;
  close(): Promise<void>;
}

/** A MemoryNetwork, a Shoal server on 10.0.0.2 feeding `handler`'s http.Server, and a Net on 10.0.0.1. */
async function rig(handler: http.RequestListener): Promise<Rig & { network: MemoryNetwork }> {
  const network = new MemoryNetwork();
  const a = network.addHost();
  const b = network.addHost();
  const client = new Net(a.stack);
  const httpServer = http.createServer(handler);
  const serverSockets: Socket[] = [];
  const shoalServer: Server = new Net(b.stack).createServer((socket) => {
    serverSockets.push(socket);
    httpServer.emit('connection', socket);
  });
  await new Promise<void>((resolve, reject) => {
    shoalServer.once('error', reject);
    shoalServer.listen(0, SERVER, resolve);
  });
  const port = (shoalServer.address() as { port: number }).port;
  return {
    network,
    client,
    serverSockets,
    port,
    close: async () => {
      httpServer.closeAllConnections();
      for (const s of serverSockets) s.destroy();
      await new Promise<void>((resolve) => shoalServer.close(() => resolve()));
    },
  };
}

function request(options: http.RequestOptions, body?: (req: http.ClientRequest) => void): Promise<{ res: http.IncomingMessage; body: Buffer; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks), req }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) body(req);
    else req.end();
  });
}

test('keep-alive: several requests reuse one Shoal socket; status, headers and bodies as a user sees them', async () => {
  const seen: { method: string; url: string; id: string | undefined; agent: string | undefined }[] = [];
  const r = await rig((req, res) => {
    seen.push({ method: req.method!, url: req.url!, id: req.headers['x-request-id'] as string | undefined, agent: req.headers['user-agent'] });
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      res.statusCode = 201;
      res.statusMessage = 'Made It';
      res.setHeader('X-Shoal', ['yes', 'really']);
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`${req.method} ${req.url} got ${Buffer.concat(chunks).toString() || 'nothing'} ✓`);
    });
  });
  const agent = new ShoalAgent(r.client, { keepAlive: true, maxSockets: 1 });
  try {
    const sockets: unknown[] = [];
    const reused: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const method = i % 2 === 0 ? 'GET' : 'POST';
      const { res, body, req } = await request(
        { host: SERVER, port: r.port, path: `/item/${i}?q=${i}`, method, agent, headers: { 'X-Request-Id': `r${i}`, 'User-Agent': 'shoal-test' } },
        method === 'POST' ? (q) => q.end(`payload ${i}`) : undefined,
      );
      sockets.push(req.socket);
      reused.push(req.reusedSocket);
      assert.equal(res.statusCode, 201);
      assert.equal(res.statusMessage, 'Made It');
      assert.equal(res.headers['x-shoal'], 'yes, really');
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(res.headers['connection'], 'keep-alive');
      assert.equal(body.toString(), `${method} /item/${i}?q=${i} got ${method === 'POST' ? `payload ${i}` : 'nothing'} ✓`);
    }
    assert.deepEqual(reused, [false, true, true, true]);
    assert.ok(sockets.every((s) => s === sockets[0]), 'every request went over the same client socket');
    assert.equal(r.serverSockets.length, 1, 'the server saw one connection');
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url} ${s.id} ${s.agent}`),
      [0, 1, 2, 3].map((i) => `${i % 2 === 0 ? 'GET' : 'POST'} /item/${i}?q=${i} r${i} shoal-test`),
    );
  } finally {
    agent.destroy();
    await r.close();
    r.network.close();
  }
});

test('chunked request and response bodies (createConnection option, no agent)', async () => {
  let requestEncoding: string | undefined;
  let requestBody = '';
  const r = await rig((req, res) => {
    requestEncoding = req.headers['transfer-encoding'];
    req.setEncoding('utf8');
    req.on('data', (d: string) => (requestBody += d));
    req.on('end', () => {
      // No Content-Length: Node sends the response chunked; each write() is a chunk.
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      for (const part of ['alpha ', 'beta ', 'gamma ', requestBody.length.toString()]) res.write(part);
      res.end();
    });
  });
  try {
    const { res, body } = await request(
      {
        host: SERVER,
        port: r.port,
        method: 'PUT',
        path: '/chunks',
        createConnection: () => r.client.createConnection({ port: r.port, host: SERVER }),
      },
      (req) => {
        // Several writes, no Content-Length: a chunked request body.
        req.write('one,');
        setTimeout(() => {
          req.write('two,');
          setImmediate(() => req.end('three'));
        }, 10);
      },
    );
    assert.equal(requestEncoding, 'chunked');
    assert.equal(requestBody, 'one,two,three');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(body.toString(), 'alpha beta gamma 13');
  } finally {
    await r.close();
    r.network.close();
  }
});

/** `total` bytes in `chunk`-sized Buffers from a seeded generator, and their SHA-256 once all were made. */
function* seededChunks(total: number, chunk: number, seed: number, hash: ReturnType<typeof createHash>): Generator<Buffer> {
  const r = new Random(seed);
  for (let done = 0; done < total; done += chunk) {
    const n = Math.min(chunk, total - done);
    const b = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) b.writeUInt32LE(r.nextU32(), i);
    for (; i < n; i++) b[i] = r.nextU32() & 0xff;
    hash.update(b);
    yield b;
  }
}

/** Writes the chunks to `out` with back pressure (waits for 'drain'), then ends it. */
async function writeAll(out: NodeJS.WritableStream, chunks: Iterable<Buffer>): Promise<void> {
  for (const c of chunks) {
    if (!out.write(c)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
}

test('a 50 MB body each way arrives intact (SHA-256)', async () => {
  const SIZE = 50 * 1024 * 1024;
  const UP_SEED = 5001;
  const DOWN_SEED = 5002;
  const downHash = createHash('sha256');
  let upload: { bytes: number; sha: string } | null = null;
  const r = await rig((req, res) => {
    const h = createHash('sha256');
    let bytes = 0;
    req.on('data', (d: Buffer) => {
      bytes += d.length;
      h.update(d);
    });
    req.on('end', () => {
      upload = { bytes, sha: h.digest('hex') };
      res.writeHead(200, { 'Content-Length': SIZE, 'X-Upload-Sha256': upload.sha });
      void writeAll(res, seededChunks(SIZE, 256 * 1024, DOWN_SEED, downHash));
    });
  });
  const agent = new ShoalAgent(r.client, { keepAlive: true });
  try {
    const upHash = createHash('sha256');
    const got = await new Promise<{ bytes: number; sha: string; header: string | undefined }>((resolve, reject) => {
      const req = http.request({ host: SERVER, port: r.port, method: 'POST', path: '/big', agent, headers: { 'Content-Length': SIZE } }, (res) => {
        const h = createHash('sha256');
        let bytes = 0;
        res.on('data', (d: Buffer) => {
          bytes += d.length;
          h.update(d);
        });
        res.on('end', () => resolve({ bytes, sha: h.digest('hex'), header: res.headers['x-upload-sha256'] as string | undefined }));
        res.on('error', reject);
      });
      req.on('error', reject);
      void writeAll(req, seededChunks(SIZE, 256 * 1024, UP_SEED, upHash));
    });
    const up = upHash.digest('hex');
    const seeds = `seeds ${UP_SEED} (up), ${DOWN_SEED} (down)`;
    assert.deepEqual(upload, { bytes: SIZE, sha: up }, seeds);
    assert.equal(got.header, up, seeds);
    assert.equal(got.bytes, SIZE, seeds);
    assert.equal(got.sha, downHash.digest('hex'), seeds);
  } finally {
    agent.destroy();
    await r.close();
    r.network.close();
  }
});
