/**
 * A test application for engine.test.ts. Every shard logs its steps into the shared log
 * it is given (`shard.data`): an atExit hook that pings the next shard over the mesh and
 * waits for its answer (so every shard must still be running), and an atDestroy hook.
 * With `throwOn`, that shard throws from a timer 50 ms after it starts; with `pingAfter`,
 * shard 1 sends shard 0 a message after that many ms and shard 0, idle until then,
 * stops the engine when it arrives.
 */
import type { Shard } from '../../../src/shard/shard.js';

export interface LifecycleData {
  log: SharedArrayBuffer;
  throwOn?: number;
  pingAfter?: number;
  /** Shard 0 sends shard 1 a message from its module function, before shard 1 may have started. */
  earlySend?: boolean;
  /** This shard's atExit hook never settles. */
  hangOn?: number;
}

/** Log codes: shard × 16 + step. */
export const STARTED = 1;
export const EXIT = 2;
export const EXIT_ANSWERED = 3;
export const DESTROY = 4;
export const PINGED = 5;
export const EARLY = 6;

export function logEntries(log: SharedArrayBuffer): number[] {
  const a = new Int32Array(log);
  return Array.from(a.subarray(1, 1 + Atomics.load(a, 0)));
}

export default function lifecycle(shard: Shard): void {
  const data = shard.data as LifecycleData;
  const log = new Int32Array(data.log);
  const note = (step: number): void => {
    const i = Atomics.add(log, 0, 1);
    Atomics.store(log, 1 + i, shard.id * 16 + step);
  };
  let answered: (() => void) | null = null;
  shard.onMessage = (from, a) => {
    if (a === 42) shard.send(from, 43);
    else if (a === 43) answered?.();
    else if (a === 7) {
      note(PINGED);
      shard.stop();
    } else if (a === 9) note(EARLY);
  };
  if (data.earlySend === true && shard.id === 0 && shard.count > 1) shard.send(1, 9);
  shard.atExit(async () => {
    note(EXIT);
    if (data.hangOn === shard.id) await new Promise(() => {});
    // The next shard, past the one that failed (it cannot answer).
    let next = (shard.id + 1) % shard.count;
    if (next === data.throwOn) next = (next + 1) % shard.count;
    if (next !== shard.id) {
      await new Promise<void>((resolve) => {
        answered = resolve;
        shard.send(next, 42);
      });
    }
    note(EXIT_ANSWERED);
  });
  shard.atDestroy(() => note(DESTROY));
  if (data.throwOn === shard.id) setTimeout(() => {
    throw new Error(`shard ${shard.id} failed on purpose`);
  }, 50);
  if (data.pingAfter !== undefined && shard.id === 1) setTimeout(() => shard.send(0, 7), data.pingAfter);
  note(STARTED);
}
