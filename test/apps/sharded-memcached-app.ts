/**
 * A test application for memcached-differential.test.ts: memcached split over the shards
 * (src/apps/memcached/sharded.ts), every shard its own keys; shard 0 also takes
 * connections from node:net on 127.0.0.1 (a free port, written to `port`), so every
 * command for another shard's key crosses the shards.
 */
import net from 'node:net';
import type { Shard } from '../../src/shard/shard.js';
import { Memcached, ShardedMemcached, serveMemcached } from '../../src/apps/memcached/index.js';

export default async function shardedMemcachedApp(shard: Shard): Promise<void> {
  const port = new Int32Array(shard.data as SharedArrayBuffer);
  const cache = new Memcached({ casSpace: { index: shard.id, count: shard.count } });
  const sharded = new ShardedMemcached(cache, shard.rpc, shard.id, shard.count);
  if (shard.id !== 0) return;
  const server = net.createServer();
  serveMemcached(server, { cache, router: sharded.router });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  shard.atExit(() => new Promise<void>((resolve) => server.close(() => resolve())));
  Atomics.store(port, 0, (server.address() as net.AddressInfo).port);
}
