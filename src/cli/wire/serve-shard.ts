/**
 * What each shard runs for `shoal serve --shards N` (N > 1): the server on this shard's
 * stack of the host `shoal` (echo, http or memcached on the same port on every shard;
 * memcached's keys split over the shards' caches, sharded.ts),
 * closed by the engine's atExit. Shard 0 also writes the address into `address` once it
 * has one (given, or leased by DHCP), for the main thread to print.
 */
import { serveHttp } from '../../apps/http/index.js';
import { Memcached, ShardedMemcached, serveMemcached } from '../../apps/memcached/index.js';
import { serveTcpEcho, serveUdpEcho } from '../../apps/echo.js';
import type { Shard } from '../../shard/shard.js';

export interface ServeShardData {
  app: 'echo' | 'http' | 'memcached';
  port: number;
  root: string;
  /** Int32 [0]: the address (0 until there is one), [1]: shards listening. */
  state: SharedArrayBuffer;
}

export default async function serveShard(shard: Shard): Promise<void> {
  const data = shard.data as ServeShardData;
  const state = new Int32Array(data.state);
  const host = shard.host;
  const server = host.net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
    server.listen(data.port);
  });
  let udp: ReturnType<typeof host.dgram.createSocket> | null = null;
  if (data.app === 'echo') {
    serveTcpEcho(server);
    udp = host.dgram.createSocket('udp4');
    serveUdpEcho(udp);
    udp.bind(data.port);
  } else if (data.app === 'http') {
    serveHttp(server, { root: data.root });
  } else {
    // One cache per shard, each the keys that hash to it; the others' keys go to their shard.
    const cache = new Memcached({ casSpace: { index: shard.id, count: shard.count } });
    const sharded = new ShardedMemcached(cache, shard.rpc, shard.id, shard.count);
    serveMemcached(server, { cache, router: sharded.router });
  }
  // No new connections; those open end with the stack (a keep-alive client must not hold the stop).
  shard.atExit(() => {
    udp?.close();
    server.close();
  });
  Atomics.add(state, 1, 1);
  if (shard.id === 0) {
    void (async () => {
      while (host.stack.address === 0) await new Promise((r) => setTimeout(r, 10));
      Atomics.store(state, 0, host.stack.address | 0);
      Atomics.notify(state, 0);
    })();
  }
}
