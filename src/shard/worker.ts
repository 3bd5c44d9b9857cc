/**
 * A shard's thread (started by engine.ts): its event loop on the real clock, its end of
 * the mesh, its part of the network when the engine was given one (worker-network.ts),
 * and the application module, imported here and called with the shard. Then it does
 * what the engine says: `exit` runs the atExit hooks (every shard still runs), `destroy`
 * stops the loop and runs the atDestroy hooks, after which the thread ends. A thrown
 * error anywhere ends the thread; the engine sees it and stops the others.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RealClock } from '../time/clock.js';
import { EventLoop } from '../time/loop.js';
import { MeshEndpoint, type MeshMemory } from './mesh.js';
import { MeshPollable } from './mesh-pollable.js';
import { Shard } from './shard.js';
import type { ToEngine, ToShard } from './engine-messages.js';
import type { SharedPoolInfo } from './forward.js';
import { NetworkShard, type MemoryNetworkSpec } from './worker-network.js';
import { ShardRpc, type RpcMemory } from './rpc.js';

interface ShardData {
  moduleUrl: string;
  id: number;
  count: number;
  mesh: MeshMemory;
  data: unknown;
  network: { spec: MemoryNetworkSpec; meshes: MeshMemory[]; listenMemory: SharedArrayBuffer[] } | null;
  rpc: RpcMemory | null;
}

const data = workerData as ShardData;
const port = parentPort!;
const post = (m: ToEngine): void => port.postMessage(m);

const loop = new EventLoop(new RealClock());
const mesh = new MeshEndpoint(data.mesh, data.id);
const network = data.network === null ? null : new NetworkShard(data.network.spec, data.id, data.count, loop);
const rpc = data.rpc === null ? null : new ShardRpc(data.rpc, data.id, mesh, () => loop.wake());
const shard = new Shard(data.id, data.count, loop, mesh, (code) => post({ type: 'stop', code }), data.data, network?.hosts, rpc);
// Armed from the start: frames other shards forward must wake this one while its module starts.
const meshPoll = new MeshPollable(mesh, shard, loop, network);
loop.add(meshPoll);
loop.start();

// Every shard's pools, or null when the engine stops before all have made theirs.
let poolsArrived: (pools: SharedPoolInfo[][][] | null) => void = () => {};
const pools = new Promise<SharedPoolInfo[][][] | null>((resolve) => (poolsArrived = resolve));

// The network first (it needs every shard's pools), then the module; only then does the
// shard read messages, so nothing another shard sends before `onMessage` is set is lost
// (it waits in the ring).
const started = (async (): Promise<void> => {
  if (network !== null) {
    post({ type: 'pools', pools: network.sharedPools() });
    const all = await pools;
    if (all === null) return;
    network.start(data.network!.meshes, all, data.network!.listenMemory);
  }
  const mod = (await import(data.moduleUrl)) as { default?: (shard: Shard) => unknown };
  if (typeof mod.default !== 'function') throw new TypeError(`${data.moduleUrl} has no default export to call with each shard`);
  await mod.default(shard);
  meshPoll.reading = true;
  loop.wake();
})();

port.on('message', (m: ToShard) => {
  void (async () => {
    if (m.type === 'network') {
      poolsArrived(m.pools);
    } else if (m.type === 'counters') {
      post({ type: 'counters', id: m.id, counters: { shard: data.id, mesh: { ...mesh.counters }, hosts: network?.counters() ?? [] } });
    } else if (m.type === 'exit') {
      poolsArrived(null);
      // Stopping while the module still starts: its hooks are registered once it has.
      await started.catch(() => {});
      await shard.runHooks('exit');
      // Leases go back while every shard still runs (the RELEASE leaves through shard 0's queue).
      await network?.releaseLeases();
      post({ type: 'exited' });
    } else if (m.type === 'destroy') {
      loop.stop();
      meshPoll.close();
      network?.close();
      await shard.runHooks('destroy');
      // Whatever the application left open (a timer, a socket), the thread ends here.
      process.exit(0);
    }
  })().catch((e: unknown) => {
    process.nextTick(() => {
      throw e; // uncaught: the thread ends, the engine reports it
    });
  });
});

await started;
post({ type: 'started' });
