/**
 * Moving work between shards (threads): the mesh's shared-memory rings against Node's
 * MessagePort, the way a Node program would otherwise hand messages to a worker; and
 * whole frames forwarded without a copy against posting their bytes (structured clone).
 * One producer (this thread), one consumer (a worker), in one run.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Packet } from '../src/packet/packet.js';
import { FramePool } from '../src/packet/pool.js';
import { FrameForwarder, sharedPoolsOf } from '../src/shard/forward.js';
import { MeshEndpoint, meshMemory } from '../src/shard/mesh.js';
import type { BenchRow } from './harness.js';

const peerUrl = new URL('./shard-peer.js', import.meta.url);

function peer(workerData: object): { worker: Worker; done: Promise<{ seen: number }> } {
  const worker = new Worker(peerUrl, { workerData });
  const done = new Promise<{ seen: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, done };
}

/** Messages per second through the mesh, `bundle` descriptors per publish. */
async function ringRate(count: number, bundle: number): Promise<number> {
  const mem = meshMemory(2, 4096);
  const mesh = new MeshEndpoint(mem, 0);
  const { worker, done } = peer({ mode: 'ring', count, mesh: mem });
  const start = performance.now();
  let i = 0;
  while (i < count) {
    const end = Math.min(count, i + bundle);
    while (i < end) {
      if (mesh.send(1, 16, i, 0, 0)) i++;
      else {
        mesh.flush();
        await new Promise((r) => setImmediate(r)); // full: let the consumer catch up (no spinning)
      }
    }
    mesh.flush();
  }
  await done;
  const rate = count / ((performance.now() - start) / 1000);
  await worker.terminate();
  return rate;
}

/** The same through a MessagePort: one postMessage per message (bundle 1) or per array of `bundle`. */
async function portRate(count: number, bundle: number): Promise<number> {
  const { worker, done } = peer({ mode: 'port', count });
  const start = performance.now();
  for (let i = 0; i < count; i += bundle) {
    const n = Math.min(bundle, count - i);
    worker.postMessage(Array.from({ length: n }, (_, k) => i + k));
  }
  await done;
  const rate = count / ((performance.now() - start) / 1000);
  await worker.terminate();
  return rate;
}

/** 1,500-byte frames per second forwarded to a worker shard (and given back). */
async function forwardRate(count: number): Promise<number> {
  const mem = meshMemory(2, 2048);
  const pool = new FramePool({ slots: 2048, shared: true });
  const pools = [sharedPoolsOf([pool]), []];
  const mesh = new MeshEndpoint(mem, 0);
  const fwd = new FrameForwarder(mesh, [pool], pools, mem.capacity, 1000);
  const { worker, done } = peer({ mode: 'frames', count, mesh: mem, pools, maxInFlight: 1000 });
  const start = performance.now();
  let sent = 0;
  while (sent < count) {
    let k = 0;
    while (sent < count && k < 64 && fwd.inFlight[1]! < 1000) {
      const p = Packet.alloc(pool, 0);
      if (p === null) break;
      p.bufs[0]![p.append(1500)] = sent & 0xff;
      fwd.forward(p, 1);
      sent++;
      k++;
    }
    fwd.flush();
    fwd.receive();
    if (k === 0) await new Promise((r) => setImmediate(r));
  }
  await done;
  const rate = count / ((performance.now() - start) / 1000);
  await worker.terminate();
  return rate;
}

/** The reference: posting each frame's 1,500 bytes (a copy, structured clone). */
async function postFrameRate(count: number): Promise<number> {
  const { worker, done } = peer({ mode: 'port', count });
  const frame = new Uint8Array(1500);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    frame[0] = i & 0xff;
    worker.postMessage(frame);
  }
  await done;
  const rate = count / ((performance.now() - start) / 1000);
  await worker.terminate();
  return rate;
}

export async function shardBenchmarks(): Promise<BenchRow[]> {
  const group = 'shards (2 threads)';
  const n = 2_000_000;
  return [
    { group, name: 'messages, one per publish / postMessage', value: await ringRate(n / 4, 1), unit: 'msg/s', reference: { name: 'MessagePort', value: await portRate(n / 20, 1) } },
    { group, name: 'messages, 32 per publish / postMessage of 32', value: await ringRate(n, 32), unit: 'msg/s', reference: { name: 'MessagePort', value: await portRate(n, 32) } },
    { group, name: '1,500-byte frames forwarded (no copy) / posted', value: await forwardRate(500_000), unit: 'frame/s', reference: { name: 'MessagePort, copied', value: await postFrameRate(100_000) } },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./harness.js');
  printTable(await shardBenchmarks());
}
