/** The http app's small-file cache: bounded, least recently used out, trusted only for maxAgeMs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { FileCache } from '../../src/apps/http/file-cache.js';
import { createHttpHandler } from '../../src/apps/http/handler.js';

const file = (n: number, checkedAt = 0) => ({ path: '/x', body: Buffer.alloc(n), mtime: new Date(0), checkedAt });

test('file cache: at most maxBytes in all, least recently used out first; big files not kept; stale entries dropped', () => {
  const c = new FileCache({ maxBytes: 300, maxFileBytes: 150, maxAgeMs: 1000 });
  c.put('a', file(100));
  c.put('b', file(100));
  c.put('big', file(151));
  assert.equal(c.get('big', 0), null, 'over maxFileBytes: not kept');
  assert.ok(c.get('a', 10), 'a used: b is now the oldest');
  c.put('c', file(100));
  c.put('d', file(100));
  assert.equal(c.size, 300);
  assert.equal(c.get('b', 20), null, 'b went first');
  assert.ok(c.get('a', 20) && c.get('c', 20) && c.get('d', 20));
  assert.equal(c.get('a', 1000), null, 'not trusted after maxAgeMs');
  assert.equal(c.size, 200);
});

test('http app: a small file changed on disk is served anew once its cache entry is older than maxAgeMs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-cache-'));
  let clock = 0;
  const server = http.createServer(createHttpHandler({ root: dir, fileCache: { maxAgeMs: 100, now: () => clock } }));
  try {
    writeFileSync(join(dir, 'v.txt'), 'one');
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const get = async (): Promise<string> => {
      const res = await fetch(`http://127.0.0.1:${port}/v.txt`);
      assert.equal(res.status, 200);
      return res.text();
    };
    assert.equal(await get(), 'one');
    writeFileSync(join(dir, 'v.txt'), 'two!');
    clock = 99;
    assert.equal(await get(), 'one', 'from the cache within maxAgeMs');
    clock = 100;
    assert.equal(await get(), 'two!', 'looked up again after maxAgeMs');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
