/** What every shard runs in the TAP benchmark's sharded rows (bench/tap.ts): an echo server that ends each connection when the client ends. */
import type { Shard } from '../src/shard/shard.js';

export default async function tapShardApp(shard: Shard): Promise<void> {
  const { port } = shard.data as { port: number };
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
