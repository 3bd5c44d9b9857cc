/**
 * A shard's thread (started by engine.ts): its event loop on the real clock, its end of
 * the mesh, and the application module, imported here and called with the shard. Then
 * it does what the engine says: `exit` runs the atExit hooks (every shard still runs),
 * `destroy` stops the loop and runs the atDestroy hooks, after which the thread ends.
 * A thrown error anywhere ends the thread; the engine sees it and stops the others.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RealClock } from '../time/clock.js';
import { EventLoop } from '../time/loop.js';
import { MeshEndpoint, type MeshMemory } from './mesh.js';
import { MeshPollable } from './mesh-pollable.js';
import { Shard } from './shard.js';
import type { ToEngine, ToShard } from './engine-messages.js';

interface ShardData {
  moduleUrl: string;
  id: number;
  count: number;
  mesh: MeshMemory;
  data: unknown;
}

const data = workerData as ShardData;
const port = parentPort!;
const post = (m: ToEngine): void => port.postMessage(m);

const loop = new EventLoop(new RealClock());
const mesh = new MeshEndpoint(data.mesh, data.id);
const shard = new Shard(data.id, data.count, loop, mesh, (code) => post({ type: 'stop', code }), data.data);
const meshPoll = new MeshPollable(mesh, shard, loop);
loop.add(meshPoll);
loop.start();

port.on('message', (m: ToShard) => {
  void (async () => {
    if (m.type === 'exit') {
      await shard.runHooks('exit');
      post({ type: 'exited' });
    } else if (m.type === 'destroy') {
      loop.stop();
      meshPoll.close();
      await shard.runHooks('destroy');
      // Whatever the application left open (a timer, a socket), the thread ends here.
      process.exit(0);
    }
  })().catch((e: unknown) => {
    throw e; // an uncaught error: the thread ends, the engine reports it
  });
});

const mod = (await import(data.moduleUrl)) as { default?: (shard: Shard) => unknown };
if (typeof mod.default !== 'function') throw new TypeError(`${data.moduleUrl} has no default export to call with each shard`);
await mod.default(shard);
post({ type: 'started' });
