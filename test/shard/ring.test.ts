/**
 * The shard rings (src/shard/ring.ts) and the doorbell (doorbell.ts): descriptors arrive
 * whole, in order, once, only after they are published; a full ring refuses instead of
 * growing; across real threads a consumer that sleeps is woken, and a busy one is not
 * rung for every bundle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { Doorbell } from '../../src/shard/doorbell.js';
import { RingConsumer, RingProducer, ringMemory, type RingLayout } from '../../src/shard/ring.js';

const pair = (layout: RingLayout, shared = false): { p: RingProducer; c: RingConsumer } => {
  const mem = ringMemory(layout, shared);
  return { p: new RingProducer(mem, layout), c: new RingConsumer(mem, layout) };
};

const drain = (c: RingConsumer, max = Infinity): number[][] => {
  const out: number[][] = [];
  c.poll(max, (s, at) => out.push([s[at]!, s[at + 1]!, s[at + 2]!]));
  return out;
};

test('ring: nothing is seen before publish; a bundle arrives whole and in order', () => {
  const { p, c } = pair({ capacity: 8, words: 3 });
  assert.ok(p.push(1, 10, 100));
  assert.ok(p.push(2, 20, 200));
  assert.equal(c.available, 0, 'written, not published');
  assert.equal(p.unpublished, 2);
  p.publish();
  assert.equal(c.available, 2);
  assert.deepEqual(drain(c), [
    [1, 10, 100],
    [2, 20, 200],
  ]);
  assert.equal(c.available, 0);
  assert.deepEqual(drain(c), [], 'read once');
});

test('ring: full refuses (nothing grows); room comes back only when the consumer has read', () => {
  const { p, c } = pair({ capacity: 4, words: 2 });
  for (let i = 0; i < 4; i++) assert.ok(p.push(i, i));
  assert.equal(p.push(4, 4), false, 'the fifth does not fit');
  assert.equal(p.reserve(), -1);
  p.publish();
  assert.equal(p.hasRoom(1), false, 'published but unread is still held');
  assert.equal(drain(c, 1).length, 1);
  assert.equal(p.hasRoom(1), true);
  assert.equal(p.hasRoom(2), false);
  // In place: reserve, write, commit.
  const at = p.reserve();
  assert.ok(at >= 0);
  p.slots[at] = 42;
  p.slots[at + 1] = 43;
  p.commit();
  p.publish();
  assert.deepEqual(
    drain(c).map((d) => d[0]),
    [1, 2, 3, 42],
  );
});

test('ring: any interleaving of pushes, publishes and polls delivers every descriptor once, in order, through many wraps', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(2, 4, 8, 16),
      fc.array(fc.tuple(fc.nat(20), fc.boolean(), fc.nat(20)), { minLength: 1, maxLength: 200 }),
      (capacity, steps) => {
        const { p, c } = pair({ capacity, words: 2 });
        let next = 0;
        const got: number[] = [];
        for (const [pushes, publish, polls] of steps) {
          for (let i = 0; i < pushes; i++) if (p.push(next, ~next)) next++;
          if (publish) p.publish();
          c.poll(polls, (s, at) => {
            assert.equal(s[at + 1], ~s[at]!);
            got.push(s[at]!);
          });
          assert.ok(p.unpublished + c.available <= capacity, 'never more held than the ring holds');
        }
        p.publish();
        c.poll(Infinity, (s, at) => got.push(s[at]!));
        assert.deepEqual(got, Array.from({ length: next }, (_, i) => i));
      },
    ),
    { numRuns: 300 },
  );
});

test('ring: a bad layout is refused with what is allowed', () => {
  assert.throws(() => ringMemory({ capacity: 6, words: 2 }), /power of two/);
  assert.throws(() => ringMemory({ capacity: 8, words: 0 }), /words must be 1 to 16/);
});

test('doorbell: a producer rings only a consumer that said it sleeps, and only once for many producers', () => {
  const mem = Doorbell.memory();
  const consumer = new Doorbell(mem);
  const a = new Doorbell(mem);
  const b = new Doorbell(mem);
  assert.equal(a.ring(), false, 'awake: no ring');
  const seq = consumer.prepare();
  assert.equal(a.ring(), true);
  assert.equal(b.ring(), false, 'already rung: the flag is down');
  assert.equal(consumer.waitSync(seq, 0), true, 'the sequence moved: no wait at all');
  const seq2 = consumer.prepare();
  consumer.cancel();
  assert.equal(a.ring(), false, 'cancelled: work was found on the re-check');
  assert.equal(consumer.waitSync(seq2, 1), false, 'nobody rang: times out');
});

/** Runs ring-producer.js in a worker and consumes on this thread with the doorbell protocol. */
async function acrossThreads(count: number, bundle: number, capacity: number, delayMs: number): Promise<{ sum: bigint; inOrder: boolean; rung: number; fullWaits: number; sleeps: number; prepares: number }> {
  const layout = { capacity, words: 2 };
  const ringMem = ringMemory(layout) as SharedArrayBuffer;
  const consumerBell = Doorbell.memory();
  const producerBell = Doorbell.memory();
  const ring = new RingConsumer(ringMem, layout);
  const mine = new Doorbell(consumerBell);
  const producer = new Doorbell(producerBell);
  const worker = new Worker(new URL('./ring-producer.js', import.meta.url), {
    workerData: { ring: ringMem, layout, consumerBell, producerBell, count, bundle, delayMs },
  });
  const done = new Promise<{ rung: number; fullWaits: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  let seen = 0;
  let sum = 0n;
  let inOrder = true;
  let sleeps = 0;
  let prepares = 0;
  while (seen < count) {
    const n = ring.poll(256, (s, at) => {
      const v = s[at]!;
      if (v !== seen || s[at + 1] !== ((v * 7) & 0x7fffffff)) inOrder = false;
      sum += BigInt(v);
      seen++;
    });
    if (n > 0) {
      producer.ring(); // room again, if it waited for some
      continue;
    }
    const seq = mine.prepare();
    prepares++;
    if (ring.available > 0) {
      mine.cancel();
      continue;
    }
    sleeps++;
    if (!(await mine.wait(seq, 10_000))) throw new Error(`not woken: ${seen} of ${count} seen`);
  }
  const r = await done;
  await worker.terminate();
  return { sum, inOrder, sleeps, prepares, ...r };
}

test('ring across threads: 1,000,000 descriptors in bundles of 32 arrive in order; the consumer is rung far less than once per bundle', async () => {
  const count = 1_000_000;
  const bundle = 32;
  const r = await acrossThreads(count, bundle, 1024, 0);
  console.log(`# ring: ${count} descriptors, ${count / bundle} bundles; consumer raised its flag ${r.prepares} times, slept ${r.sleeps}, was rung ${r.rung}; producer waited for room ${r.fullWaits} times`);
  assert.ok(r.inOrder, 'every descriptor in order, intact');
  assert.equal(r.sum, (BigInt(count) * BigInt(count - 1)) / 2n);
  assert.ok(r.rung <= r.prepares, `rung ${r.rung} only when the consumer raised its flag (${r.prepares} times)`);
  assert.ok(r.rung < count / bundle / 2, `rung ${r.rung} times for ${count / bundle} bundles`);
});

test('ring across threads: a consumer asleep before anything is published is woken, and a producer waiting for room is too', async () => {
  const r = await acrossThreads(5000, 100, 16, 50);
  assert.ok(r.inOrder);
  assert.ok(r.sleeps >= 1 && r.rung >= 1, `the consumer slept (${r.sleeps}) and was rung (${r.rung})`);
  assert.ok(r.fullWaits >= 0);
});
