/**
 * Shard 1 of forward.test.ts's two-thread run, in a worker: receives `count` frames from
 * shard 0, checks each one's bytes, releases it (which gives it back to shard 0), and
 * sleeps on its doorbell when there is nothing to do.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FrameForwarder, type SharedPoolInfo } from '../../src/shard/forward.js';
import { MeshEndpoint, type MeshMemory } from '../../src/shard/mesh.js';
import { frameIsIntact } from './forward-pattern.js';

interface Job {
  mesh: MeshMemory;
  pools: SharedPoolInfo[][];
  count: number;
  maxInFlight: number;
}

const job = workerData as Job;
const mesh = new MeshEndpoint(job.mesh, 1);
const fwd = new FrameForwarder(mesh, [], job.pools, job.mesh.capacity, job.maxInFlight);
let seen = 0;
let bad = 0;
fwd.onFrames = (burst, n) => {
  for (let i = 0; i < n; i++) {
    const p = burst[i]!;
    if (!frameIsIntact(p, seen)) bad++;
    seen++;
    p.release();
  }
};
while (seen < job.count) {
  if (fwd.receive() > 0) {
    fwd.flush();
    continue;
  }
  const sleeping = mesh.sleep(10_000);
  if (sleeping !== null && !(await sleeping)) break;
}
fwd.flush();
parentPort!.postMessage({ seen, bad, received: fwd.counters.received, sleeps: mesh.counters.sleeps });
