import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLoop } from '../../src/time/loop.js';
import { RealClock, VirtualClock } from '../../src/time/clock.js';
import type { Pollable } from '../../src/link/device.js';

/** Something that has one unit of work at each of the given times. */
function scheduled(times: number[], log: number[]): Pollable {
  const pending = [...times];
  return {
    poll(now) {
      let n = 0;
      while (pending.length && pending[0]! <= now) {
        log.push(pending.shift()!);
        n++;
      }
      return n;
    },
    nextEventAt: () => pending[0] ?? Infinity,
  };
}

test('event loop (virtual): jumps time to the next event, never ticking in between', () => {
  const clock = new VirtualClock();
  const loop = new EventLoop(clock);
  const log: number[] = [];
  loop.add(scheduled([5, 5, 1000, 60_000], log));
  const timerLog: number[] = [];
  loop.timers.schedule(30_000, (now) => timerLog.push(now));
  const passes = loop.runUntil();
  assert.deepEqual(log, [5, 5, 1000, 60_000]);
  assert.deepEqual(timerLog, [30_000]);
  assert.equal(clock.now(), 60_000);
  assert.ok(passes < 12, `a minute of virtual time in ${passes} passes`);
});

test('event loop (virtual): stops at `until`, or when done() holds', () => {
  const clock = new VirtualClock();
  const loop = new EventLoop(clock);
  const log: number[] = [];
  loop.add(scheduled([10, 20, 30], log));
  loop.runUntil({ until: 25 });
  assert.deepEqual(log, [10, 20]);
  assert.equal(clock.now(), 25);
  loop.runUntil({ done: () => log.length === 3 });
  assert.equal(clock.now(), 30);
  assert.throws(() => new EventLoop(new RealClock()).runUntil(), /VirtualClock/);
});

test('event loop (real): sleeps until the next timer and wakes on outside input', async () => {
  const loop = new EventLoop(new RealClock());
  const fired: string[] = [];
  let inbox = 0;
  loop.add({ poll: () => { const n = inbox; if (n) fired.push('input'); inbox = 0; return n; }, nextEventAt: () => Infinity });
  const done = new Promise<void>((resolve) => loop.timers.schedule(loop.clock.now() + 30, () => { fired.push('timer'); resolve(); }));
  loop.start();
  setTimeout(() => { inbox = 1; loop.wake(); }, 5);
  await done;
  loop.stop();
  assert.deepEqual(fired, ['input', 'timer']);
});

test('event loop (real): a wake() during a pass does not start a second chain, and stop() leaves nothing behind', async () => {
  const loop = new EventLoop(new RealClock());
  let polls = 0;
  loop.add({ poll: () => { polls++; if (polls === 1) loop.wake(); return 0; }, nextEventAt: () => Infinity });
  loop.timers.schedule(loop.clock.now() + 60_000, () => {});
  loop.start();
  await new Promise((r) => setTimeout(r, 30));
  loop.stop();
  assert.equal(polls, 2, 'the first pass and the one its wake() asked for');
});

test('event loop (real): runNow() runs the pass inside the caller; inside a pass it only asks for another', async () => {
  const loop = new EventLoop(new RealClock());
  let polls = 0;
  let nested = -1;
  loop.add({
    poll: () => {
      polls++;
      if (polls === 2) {
        loop.runNow();
        nested = polls;
      }
      return 0;
    },
    nextEventAt: () => Infinity,
  });
  loop.runNow();
  assert.equal(polls, 0, 'a stopped loop runs nothing');
  loop.start();
  await new Promise((r) => setImmediate(r));
  assert.equal(polls, 1, 'the pass start() asked for');
  loop.runNow();
  assert.equal(polls, 2, 'the pass ran before runNow() returned');
  assert.equal(nested, 2, 'a runNow() inside a pass does not run one inside it');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(polls, 3, 'it asked for one more pass, which ran later');
  loop.stop();
});

test('event loop (real): timers re-armed later and later still fire when due (the sleep set for the earliest is kept)', async () => {
  const loop = new EventLoop(new RealClock());
  const fired: string[] = [];
  const moving = loop.timers.create(() => fired.push('moving'));
  loop.add({ poll: () => 0, nextEventAt: () => Infinity });
  loop.timers.arm(moving, loop.clock.now() + 10);
  loop.start();
  // Pushed later on every wake, as an RTO timer is on every ACK.
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 2));
    loop.timers.arm(moving, loop.clock.now() + 15);
    loop.wake();
  }
  const done = new Promise<void>((resolve) => loop.timers.schedule(loop.clock.now() + 25, () => { fired.push('last'); resolve(); }));
  loop.wake();
  await done;
  loop.stop();
  assert.deepEqual(fired, ['moving', 'last']);
});
