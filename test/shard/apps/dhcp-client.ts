/**
 * A test application for network.test.ts: the `client` host gets its address by DHCP
 * (the client runs on shard 0) from a scripted server on the `server` host's shard 0.
 * Every shard waits for the lease to reach its own client stack, records the address,
 * and opens one connection from it to the server's echo port.
 */
import type { Shard } from '../../../src/shard/shard.js';
import { dhcpServer } from '../dhcp-script.js';

/** Int32 words: per shard [address its client stack got, echo came back (1)], then finished. */
export function dhcpResults(shards: number): SharedArrayBuffer {
  return new SharedArrayBuffer(4 * (2 * shards + 1));
}

export default async function dhcpClient(shard: Shard): Promise<void> {
  const r = new Int32Array(shard.data as SharedArrayBuffer);
  const server = shard.hosts.server!;
  const client = shard.hosts.client!;
  if (shard.id === 0) dhcpServer(server.stack);
  server.net.createServer((s) => s.pipe(s)).listen(7);
  void (async () => {
    while (client.stack.address === 0) await new Promise((res) => setTimeout(res, 5));
    Atomics.store(r, 2 * shard.id, client.stack.address | 0);
    const echoed = await new Promise<boolean>((resolve) => {
      const c = client.net.connect({ host: '10.0.0.1', port: 7 }, () => c.end('leased'));
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('error', () => resolve(false));
      c.on('close', () => resolve(got === 'leased'));
    });
    Atomics.store(r, 2 * shard.id + 1, echoed ? 1 : 0);
    Atomics.add(r, 2 * shard.count, 1);
  })();
}
