/**
 * A test application for network.test.ts: every shard runs a stack of two hosts on the
 * memory link that spans the shards — `server` (an echo server on port 7, on every
 * shard) and `client`. Once every shard listens, each client shard opens `connections`
 * connections, sends `bytes` seeded bytes on each and checks the echo by SHA-256. It
 * records, per shard, what a user would check: connections done and intact, the ones
 * accepted here, and any accepted on a shard that does not own its 4-tuple or connected
 * from a port whose replies steer elsewhere.
 */
import { createHash } from 'node:crypto';
import type { Socket } from '../../../src/api/net/index.js';
import { parseIpv4 } from '../../../src/wire/addr.js';
import { Steering } from '../../../src/shard/steering.js';
import type { Shard } from '../../../src/shard/shard.js';
import { Random } from '../../../src/util/random.js';

export interface EchoPairsData {
  /** Int32 words: [listening, finished, then per shard: RESULT_WORDS]. */
  results: SharedArrayBuffer;
  connections: number;
  bytes: number;
  serverAddress: string;
  serverKey: Uint8Array;
  clientKey: Uint8Array;
}

export const LISTENING = 0;
export const FINISHED = 1;
export const RESULT_WORDS = 5;
/** Per shard: connections whose echo matched, accepted here, accepted here but owned elsewhere, connected from a port that steers elsewhere. */
export const INTACT = 0;
export const ACCEPTED = 1;
export const WRONG_SHARD = 2;
export const WRONG_PORT = 3;
/** The port this shard's server.listen(0) got (every shard should have the same). */
export const LISTEN0_PORT = 4;

export function resultOf(results: SharedArrayBuffer, shard: number, field: number): number {
  return Atomics.load(new Int32Array(results), 2 + shard * RESULT_WORDS + field);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function echoOnce(client: Shard['net'], address: string, payload: Uint8Array): Promise<{ ok: boolean; localPort: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let got = 0;
    let localPort = 0;
    const sock: Socket = client.connect({ host: address, port: 7 }, () => {
      localPort = sock.localPort ?? 0;
      sock.end(payload);
    });
    sock.on('data', (d: Buffer) => {
      got += d.length;
      hash.update(d);
    });
    sock.on('error', reject);
    sock.on('close', () => {
      const want = createHash('sha256').update(payload).digest('hex');
      resolve({ ok: got === payload.length && hash.digest('hex') === want, localPort });
    });
  });
}

export default async function echoPairs(shard: Shard): Promise<void> {
  const data = shard.data as EchoPairsData;
  const r = new Int32Array(data.results);
  const mine = (field: number): number => 2 + shard.id * RESULT_WORDS + field;
  const server = shard.hosts.server!;
  const client = shard.hosts.client!;
  const serverSteering = new Steering(shard.count, { key: data.serverKey });
  const clientSteering = new Steering(shard.count, { key: data.clientKey });
  const serverIp = parseIpv4(data.serverAddress);

  const srv = server.net.createServer((sock) => {
    Atomics.add(r, mine(ACCEPTED), 1);
    const owner = serverSteering.shardOfFlow(serverIp, parseIpv4(sock.remoteAddress!), 7, sock.remotePort!);
    if (owner !== shard.id) Atomics.add(r, mine(WRONG_SHARD), 1);
    sock.pipe(sock);
  });
  await new Promise<void>((resolve) => srv.listen(7, resolve));
  const any = server.net.createServer(() => {});
  await new Promise<void>((resolve) => any.listen(0, resolve));
  Atomics.store(r, mine(LISTEN0_PORT), (any.address() as { port: number }).port);
  shard.atExit(() => new Promise<void>((resolve) => any.close(() => resolve())));
  Atomics.add(r, LISTENING, 1);
  shard.atExit(() => new Promise<void>((resolve) => srv.close(() => resolve())));

  // The load runs after the module returned (the engine waits for every shard's start).
  void (async () => {
    while (Atomics.load(r, LISTENING) < shard.count) await sleep(2);
    const rng = new Random(1000 + shard.id);
    const clientIp = client.stack.address;
    const runs: Promise<void>[] = [];
    for (let k = 0; k < data.connections; k++) {
      const payload = new Uint8Array(data.bytes);
      for (let i = 0; i < payload.length; i++) payload[i] = rng.int(256);
      runs.push(
        echoOnce(client.net, data.serverAddress, payload).then(({ ok, localPort }) => {
          if (ok) Atomics.add(r, mine(INTACT), 1);
          if (clientSteering.shardOfFlow(clientIp, serverIp, localPort, 7) !== shard.id) Atomics.add(r, mine(WRONG_PORT), 1);
        }),
      );
    }
    await Promise.allSettled(runs);
    Atomics.add(r, FINISHED, 1);
    Atomics.notify(r, FINISHED);
  })();
}
