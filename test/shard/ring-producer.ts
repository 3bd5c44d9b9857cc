/**
 * A producer shard for ring.test.ts, run in a worker: pushes `count` descriptors (i, i·7
 * mod 2^31) in bundles of `bundle`, publishing once per bundle and ringing the consumer's
 * doorbell only when it sleeps; when the ring is full it sleeps on its own doorbell until
 * the consumer frees room. Posts its ring count at the end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell } from '../../src/shard/doorbell.js';
import { RingProducer, type RingLayout } from '../../src/shard/ring.js';

interface Job {
  ring: SharedArrayBuffer;
  layout: RingLayout;
  consumerBell: SharedArrayBuffer;
  producerBell: SharedArrayBuffer;
  count: number;
  bundle: number;
  /** Wait this long (ms) before the first publish, so the consumer is asleep by then. */
  delayMs: number;
}

const job = workerData as Job;
const ring = new RingProducer(job.ring, job.layout);
const wake = new Doorbell(job.consumerBell);
const mine = new Doorbell(job.producerBell);
let fullWaits = 0;
if (job.delayMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, job.delayMs);
let i = 0;
while (i < job.count) {
  const end = Math.min(job.count, i + job.bundle);
  while (i < end) {
    if (ring.push(i, (i * 7) & 0x7fffffff)) {
      i++;
      continue;
    }
    // Full: what is written goes out, then sleep until the consumer frees room.
    ring.publish();
    wake.ring();
    const seq = mine.prepare();
    if (ring.hasRoom(1)) {
      mine.cancel();
      continue;
    }
    fullWaits++;
    mine.waitSync(seq, 5000);
  }
  ring.publish();
  wake.ring();
}
parentPort!.postMessage({ rung: wake.rung, fullWaits });
