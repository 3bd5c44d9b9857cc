/**
 * The far side of bench/shard.ts, in a worker: consumes `count` messages by the means
 * under test and reports when it has them all.
 * - ring: descriptors from the mesh (doorbell when idle);
 * - port: messages through this worker's MessagePort (the reference);
 * - frames: forwarded frames (read one byte, release: the frame goes back to its pool).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FrameForwarder, type SharedPoolInfo } from '../src/shard/forward.js';
import { MeshEndpoint, type MeshMemory } from '../src/shard/mesh.js';

interface Job {
  mode: 'ring' | 'port' | 'frames';
  count: number;
  mesh?: MeshMemory;
  pools?: SharedPoolInfo[][];
  maxInFlight?: number;
}

const job = workerData as Job;
const port = parentPort!;
let seen = 0;
let sum = 0;

if (job.mode === 'port') {
  port.on('message', (m: number[] | Uint8Array) => {
    if (m instanceof Uint8Array) {
      sum += m[0]!;
      seen++;
    } else {
      for (let i = 0; i < m.length; i++) sum += m[i]!;
      seen += m.length;
    }
    if (seen >= job.count) {
      port.postMessage({ seen, sum });
      port.close();
    }
  });
} else {
  const mesh = new MeshEndpoint(job.mesh!, 1);
  const fwd = job.mode === 'frames' ? new FrameForwarder(mesh, [], job.pools!, job.mesh!.capacity, job.maxInFlight) : null;
  if (fwd !== null) {
    fwd.onFrames = (burst, n) => {
      for (let i = 0; i < n; i++) {
        const p = burst[i]!;
        sum += p.bufs[0]![p.offs[0]!]!;
        p.release();
      }
      seen += n;
    };
  }
  const take = (s: Int32Array, at: number): void => {
    sum += s[at + 1]!;
    seen++;
  };
  while (seen < job.count) {
    const n = fwd !== null ? fwd.receive() : mesh.poll(1024, take);
    if (fwd !== null) fwd.flush();
    if (n > 0) continue;
    const sleeping = mesh.sleep(5000);
    if (sleeping !== null && !(await sleeping)) break;
  }
  port.postMessage({ seen, sum, sleeps: mesh.counters.sleeps });
}
