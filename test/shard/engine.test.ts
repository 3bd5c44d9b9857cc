/**
 * The engine (src/shard/engine.ts): shard threads run the application module, stop in
 * two phases (atExit while every shard still runs, then atDestroy), stop all together
 * when one throws (the error reported once), and an idle shard stays alive while it
 * waits for another.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../../src/shard/engine.js';
import { DESTROY, EARLY, EXIT, EXIT_ANSWERED, PINGED, STARTED, logEntries, type LifecycleData } from './apps/lifecycle.js';

const app = new URL('./apps/lifecycle.js', import.meta.url);
const newLog = (): SharedArrayBuffer => new SharedArrayBuffer(4 * 256);

/** Each shard's steps in the order they happened, and the global order of the steps. */
function steps(log: SharedArrayBuffer): { byShard: Map<number, number[]>; order: number[] } {
  const order = logEntries(log);
  const byShard = new Map<number, number[]>();
  for (const e of order) {
    const s = e >> 4;
    if (!byShard.has(s)) byShard.set(s, []);
    byShard.get(s)!.push(e & 15);
  }
  return { byShard, order };
}

/** Every atExit (answered by another shard) before any atDestroy. */
function assertTwoPhases(order: number[], shards: number): void {
  const lastExit = Math.max(...order.map((e, i) => ((e & 15) === EXIT_ANSWERED ? i : -1)));
  const firstDestroy = order.findIndex((e) => (e & 15) === DESTROY);
  assert.ok(firstDestroy > lastExit, `every atExit finished before any atDestroy: ${order.map((e) => `${e >> 4}.${e & 15}`).join(' ')}`);
  assert.equal(order.filter((e) => (e & 15) === DESTROY).length, shards, 'atDestroy once per shard');
}

for (const shards of [1, 2, 4]) {
  test(`engine: ${shards} shard(s) start, then stop in two phases — atExit (talking to other shards) everywhere, then atDestroy`, async () => {
    const log = newLog();
    const engine = await launch(app, { shards, data: { log } satisfies LifecycleData });
    assert.equal(engine.shards, shards);
    assert.equal(steps(log).order.filter((e) => (e & 15) === STARTED).length, shards, 'every shard ran the module before launch resolved');
    await engine.stop();
    const { byShard, order } = steps(log);
    for (let s = 0; s < shards; s++) assert.deepEqual(byShard.get(s), [STARTED, EXIT, EXIT_ANSWERED, DESTROY], `shard ${s}`);
    assertTwoPhases(order, shards);
  });
}

test('engine: a shard that throws stops every shard cleanly, and done rejects once with its error', async () => {
  const log = newLog();
  // The shard throws 50 ms after its module returned: on a busy machine that may be before
  // every shard has started, and then launch itself rejects. Either way, one error.
  let engine: Awaited<ReturnType<typeof launch>> | null = null;
  let error: unknown = null;
  try {
    engine = await launch(app, { shards: 3, data: { log, throwOn: 1 } satisfies LifecycleData });
    await engine.done;
  } catch (e) {
    error = e;
  }
  assert.match(String(error), /shard 1 failed on purpose/);
  const { byShard, order } = steps(log);
  for (const s of [0, 2]) assert.deepEqual(byShard.get(s), [STARTED, EXIT, EXIT_ANSWERED, DESTROY], `shard ${s} stopped cleanly`);
  assert.deepEqual(byShard.get(1), [STARTED], 'the failed shard ran no hooks');
  assert.ok(order.indexOf(0 * 16 + DESTROY) > order.indexOf(2 * 16 + EXIT_ANSWERED));
  if (engine !== null) await assert.rejects(engine.stop(), /shard 1 failed on purpose/, 'the same error, not a new one');
});

test('engine: a shard with nothing to do stays alive while it waits for another shard', async () => {
  const log = newLog();
  const engine = await launch(app, { shards: 2, data: { log, pingAfter: 300 } satisfies LifecycleData });
  await engine.done; // shard 0 stops the engine when shard 1's message comes, 300 ms later
  const { byShard } = steps(log);
  assert.deepEqual(byShard.get(0), [STARTED, PINGED, EXIT, EXIT_ANSWERED, DESTROY]);
});

test('engine: a message one shard sends while another is still starting waits for it (nothing is lost)', async () => {
  for (let run = 0; run < 5; run++) {
    const log = newLog();
    const engine = await launch(app, { shards: 2, data: { log, earlySend: true } satisfies LifecycleData });
    await engine.stop();
    assert.ok(steps(log).byShard.get(1)!.includes(EARLY), `run ${run}: shard 1 got shard 0's first message`);
  }
});

test('engine: a hook that never settles does not hold the process: stop ends the threads after stopTimeoutMs and says why', async () => {
  const log = newLog();
  const engine = await launch(app, { shards: 2, stopTimeoutMs: 300, data: { log, hangOn: 0 } satisfies LifecycleData });
  await assert.rejects(engine.stop(), /did not stop within 300 ms/);
});

test('engine: a module without a default function is refused with what is missing', async () => {
  await assert.rejects(launch(new URL('./apps/not-an-app.js', import.meta.url), { shards: 2 }), /has no default export to call with each shard/);
  await assert.rejects(launch(app, { shards: 0 }), /shards must be 1 to 64/);
});

test('engine: Ctrl-C stops every shard cleanly (atExit, then atDestroy) and the process exits 0', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [new URL('./apps/sigint-main.js', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.on('exit', () => reject(new Error(`exited before ready: ${err}`)));
  });
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 0, err);
  const line = out.split('\n').find((l) => l.startsWith('log '));
  assert.ok(line !== undefined, out);
  const order = line.slice(4).split(',').map(Number);
  assertTwoPhases(order, 2);
});
