/** What every shard runs in the TAP benchmark's sharded rows (bench/tap.ts): an echo server that ends each connection when the client ends, or memcached split over the shards. */
import { Memcached, ShardedMemcached, serveMemcached } from '../src/apps/memcached/index.js';
import type { Shard } from '../src/shard/shard.js';

export default async function tapShardApp(shard: Shard): Promise<void> {
  const { port, app } = shard.data as { port: number; app: 'echo' | 'memcached' };
  if (app === 'memcached') {
    const cache = new Memcached({ casSpace: { index: shard.id, count: shard.count } });
    const sharded = new ShardedMemcached(cache, shard.rpc, shard.id, shard.count);
    const server = shard.net.createServer();
    serveMemcached(server, { cache, router: sharded.router });
    await new Promise<void>((r) => server.listen(port, r));
    shard.atExit(() => {
      server.close();
    });
    return;
  }
  const server = shard.net.createServer({ noDelay: true }, (s) => {
    s.on('data', (d: Buffer) => s.write(d));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(port, r));
  shard.atExit(() => {
    server.close();
  });
}
