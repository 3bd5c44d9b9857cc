import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { serveHttp } from '../../src/apps/http/server.js';
import { resolveInside } from '../../src/apps/http/request-path.js';
import { closeServer, listenLocal } from './net-helpers.js';
import { FakeServer } from './duplex-pair.js';

let base: string;
let root: string;
let netServer: net.Server;
let httpServer: http.Server;
let port: number;
const big = randomBytes(3 * 1024 * 1024 + 17);
const SECRET = 'the secret outside the root';

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'shoal-http-'));
  root = join(base, 'www');
  mkdirSync(join(root, 'sub', 'deep'), { recursive: true });
  writeFileSync(join(base, 'secret.txt'), SECRET);
  writeFileSync(join(root, 'index.html'), '<h1>home</h1>');
  writeFileSync(join(root, 'style.css'), 'body{}');
  writeFileSync(join(root, 'app.js'), 'export {}');
  writeFileSync(join(root, 'data.json'), '{"a":1}');
  writeFileSync(join(root, 'pic.PNG'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(join(root, 'noext'), 'plain bytes');
  writeFileSync(join(root, 'empty.txt'), '');
  writeFileSync(join(root, 'with space.txt'), 'spaced');
  writeFileSync(join(root, 'big.bin'), big);
  writeFileSync(join(root, 'sub', 'deep', 'file.txt'), 'deep file');
  symlinkSync(join(base, 'secret.txt'), join(root, 'link-out.txt'));
  symlinkSync(join(root, 'style.css'), join(root, 'link-in.css'));
  ({ server: netServer, port } = await listenLocal());
  httpServer = serveHttp(netServer, { root });
});

after(async () => {
  httpServer.closeAllConnections();
  await closeServer(netServer);
  rmSync(base, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(method: string, path: string, body?: Buffer | Readable, headers: http.OutgoingHttpHeaders = {}, agent?: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

/**
 * A request written byte for byte on a raw socket (no client-side path clean-up); returns the
 * status line and all. The socket is not half-closed: node:http drops the requests of a client
 * that ends its side before the answer (httpAllowHalfOpen is false by default).
 */
async function raw(target: string): Promise<{ status: string; text: string }> {
  const s = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  await once(s, 'close');
  const text = Buffer.concat(chunks).toString('latin1');
  return { status: text.slice(0, text.indexOf('\r\n')), text };
}

test('http: GET serves files with content-type by extension and content-length', async () => {
  const cases: Array<[string, string, string]> = [
    ['/index.html', 'text/html; charset=utf-8', '<h1>home</h1>'],
    ['/style.css', 'text/css; charset=utf-8', 'body{}'],
    ['/app.js', 'text/javascript; charset=utf-8', 'export {}'],
    ['/data.json', 'application/json', '{"a":1}'],
    ['/noext', 'application/octet-stream', 'plain bytes'],
    ['/sub/deep/file.txt', 'text/plain; charset=utf-8', 'deep file'],
    ['/with%20space.txt', 'text/plain; charset=utf-8', 'spaced'],
    ['/style.css?v=1#frag', 'text/css; charset=utf-8', 'body{}'],
    ['/', 'text/html; charset=utf-8', '<h1>home</h1>'],
    ['/link-in.css', 'text/css; charset=utf-8', 'body{}'],
    ['/empty.txt', 'text/plain; charset=utf-8', ''],
  ];
  for (const [path, type, body] of cases) {
    const r = await request('GET', path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers['content-type'], type, path);
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(body)), path);
    assert.equal(r.body.toString(), body, path);
  }
  const png = await request('GET', '/pic.PNG');
  assert.equal(png.headers['content-type'], 'image/png', 'extensions match in any case');
});

test('http: a large file arrives whole (streamed from disk)', async () => {
  const r = await request('GET', '/big.bin');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], String(big.length));
  assert.ok(r.body.equals(big));
});

test('http: HEAD sends the headers of GET and no body', async () => {
  const r = await request('HEAD', '/big.bin');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], String(big.length));
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.equal(r.body.length, 0);
  const missing = await request('HEAD', '/nope');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.length, 0);
});

test('http: 404 for what is missing or not a file; 405 with Allow for other methods', async () => {
  for (const path of ['/nope', '/sub/nope.txt', '/sub/deep', '/sub/deep/file.txt/x']) assert.equal((await request('GET', path)).status, 404, path);
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const r = await request(method, '/index.html', Buffer.from('x'));
    assert.equal(r.status, 405, method);
    assert.equal(r.headers['allow'], 'GET, HEAD');
  }
  const getEcho = await request('GET', '/echo');
  assert.equal(getEcho.status, 405);
  assert.equal(getEcho.headers['allow'], 'POST');
});

test('http: no path leads outside the folder: .., %2e%2e, %2f, absolute paths, absolute-form, symbolic links', async () => {
  const attempts = [
    '/../secret.txt',
    '/../../../../etc/passwd',
    '/sub/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/..%2fsecret.txt',
    '/sub/%2e%2e/%2e%2e/secret.txt',
    '/%252e%252e/secret.txt',
    '/..\\secret.txt',
    '//etc/passwd',
    '/etc/passwd',
    `/${base}/secret.txt`,
    'http://localhost/../secret.txt',
    'http://localhost/%2e%2e/secret.txt',
    '/link-out.txt',
    '/secret.txt%00.html',
    '/%E0%A4%A',
  ];
  for (const target of attempts) {
    const r = await raw(target);
    assert.match(r.status, /^HTTP\/1\.1 (400|404) /, target);
    assert.ok(!r.text.includes(SECRET), `${target} leaked the secret`);
  }
  const inside = await raw('/sub/../style.css');
  assert.match(inside.status, /^HTTP\/1\.1 200 /, '.. that stays inside is fine');
  assert.equal(resolveInside('/srv/www', '/%2e%2e/x'), null);
  assert.equal(resolveInside('/srv/www', '/a/%2e%2e/b'), '/srv/www/b');
  assert.equal(resolveInside('/srv/www', '/etc/passwd'), '/srv/www/etc/passwd');
});

test('http: keep-alive: several requests, GETs and POSTs, on one connection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let connections = 0;
  const count = (): void => void connections++;
  netServer.on('connection', count);
  try {
    for (let i = 0; i < 5; i++) {
      assert.equal((await request('GET', '/style.css', undefined, {}, agent)).body.toString(), 'body{}');
      assert.equal((await request('POST', '/echo', Buffer.from(`round ${i}`), {}, agent)).body.toString(), `round ${i}`);
      assert.equal((await request('GET', '/nope', undefined, {}, agent)).status, 404);
    }
    assert.equal(connections, 1);
  } finally {
    netServer.off('connection', count);
    agent.destroy();
  }
});

test('http: POST /echo with content-length answers the body with the same content-length and type', async () => {
  const body = randomBytes(100_000);
  const r = await request('POST', '/echo', body, { 'content-type': 'application/x-test' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], String(body.length));
  assert.equal(r.headers['content-type'], 'application/x-test');
  assert.ok(r.body.equals(body));
  const empty = await request('POST', '/echo', Buffer.alloc(0));
  assert.equal(empty.headers['content-length'], '0');
  assert.equal(empty.body.length, 0);
});

test('http: chunked POST /echo is answered chunked, unchanged', async () => {
  const parts = [Buffer.from('first '), Buffer.alloc(0), randomBytes(70_000), Buffer.from(' last')];
  const r = await request('POST', '/echo', Readable.from(parts), { 'transfer-encoding': 'chunked' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  assert.equal(r.headers['content-length'], undefined);
  assert.ok(r.body.equals(Buffer.concat(parts)));
});

/** `total` bytes of a deterministic pattern, in 64 KB chunks, hashing what it yields. */
function* pattern(total: number, hash: ReturnType<typeof createHash>): Generator<Buffer> {
  const block = Buffer.alloc(64 * 1024);
  for (let sent = 0, n = 0; sent < total; n++) {
    block.fill(n & 0xff);
    block.writeUInt32BE(n, 0);
    const chunk = block.subarray(0, Math.min(block.length, total - sent));
    hash.update(chunk);
    sent += chunk.length;
    yield Buffer.from(chunk);
  }
}

for (const mode of ['content-length', 'chunked'] as const) {
  test(`http: a 50 MB POST /echo (${mode}) comes back streamed, SHA-256 equal`, { timeout: 120_000 }, async () => {
    const total = 50 * 1024 * 1024;
    const sentHash = createHash('sha256');
    const gotHash = createHash('sha256');
    let received = 0;
    let requestDone = false;
    let bytesBeforeRequestDone = 0;
    const headers: http.OutgoingHttpHeaders = mode === 'chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': total };
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/echo', headers, agent: false }, (res) => {
        res.on('data', (c: Buffer) => {
          gotHash.update(c);
          received += c.length;
          if (!requestDone) bytesBeforeRequestDone = received;
        });
        res.on('end', () => resolve(res.statusCode!));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.on('finish', () => (requestDone = true));
      Readable.from(pattern(total, sentHash)).pipe(req);
    });
    assert.equal(status, 200);
    assert.equal(received, total);
    assert.equal(gotHash.digest('hex'), sentHash.digest('hex'));
    assert.ok(bytesBeforeRequestDone > 0, 'the echo began before the request was all sent: streamed, not buffered');
  });
}

test('http: serveHttp works on any net.Server-like object with Duplex sockets (not net.Socket)', async () => {
  const fake = new FakeServer();
  const server = serveHttp(fake, { root });
  try {
    // Three requests pipelined on one connection (keep-alive), the last one closing it.
    const conn = fake.connect();
    const chunks: Buffer[] = [];
    conn.on('data', (c: Buffer) => chunks.push(c));
    conn.write('GET /sub/deep/file.txt HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
    conn.write('GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await once(conn, 'end');
    const text = Buffer.concat(chunks).toString('latin1');
    assert.deepEqual(text.match(/HTTP\/1\.1 \d+/g), ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 404']);
    assert.match(text, /\r\n\r\ndeep fileHTTP/);
    assert.match(text, /\r\n\r\nhelloHTTP/);
    // A big body both ways, through the in-memory streams' back pressure.
    const get = (path: string, method = 'GET', body?: Buffer): Promise<Reply> =>
      new Promise((resolve, reject) => {
        const req = http.request({ method, path, createConnection: () => fake.connect() as net.Socket, headers: { host: 'fake' } }, (res) => {
          const got: Buffer[] = [];
          res.on('data', (c: Buffer) => got.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(got) }));
        });
        req.on('error', reject);
        req.end(body);
      });
    assert.ok((await get('/echo', 'POST', big)).body.equals(big));
    assert.ok((await get('/big.bin')).body.equals(big));
  } finally {
    server.closeAllConnections();
  }
});
