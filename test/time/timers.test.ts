import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TimerSet } from '../../src/time/timers.js';
import { VirtualClock } from '../../src/time/clock.js';

test('timers: fire in due order, ties in arming order, and say when the next is due', () => {
  const timers = new TimerSet();
  const log: string[] = [];
  timers.schedule(30, () => log.push('c'));
  timers.schedule(10, () => log.push('a'));
  timers.schedule(10, () => log.push('b'));
  assert.equal(timers.nextDue(), 10);
  assert.equal(timers.runDue(9), 0);
  assert.equal(timers.runDue(10), 2);
  assert.deepEqual(log, ['a', 'b']);
  assert.equal(timers.nextDue(), 30);
  timers.runDue(100);
  assert.deepEqual(log, ['a', 'b', 'c']);
  assert.equal(timers.nextDue(), Infinity);
  assert.equal(timers.size, 0);
});

test('timers: re-arming moves a timer, cancelling removes it, a callback may re-arm its own timer', () => {
  const timers = new TimerSet();
  const fired: number[] = [];
  const rto = timers.create((now) => {
    fired.push(now);
    if (fired.length < 3) timers.arm(rto, now + 200);
  });
  timers.arm(rto, 1000);
  timers.arm(rto, 200);
  assert.equal(timers.size, 1, 're-arming does not add a second entry');
  for (let t = 0; t <= 1000; t += 100) timers.runDue(t);
  assert.deepEqual(fired, [200, 400, 600]);
  timers.arm(rto, 5000);
  timers.cancel(rto);
  timers.cancel(rto);
  assert.equal(rto.armed, false);
  assert.equal(timers.runDue(1e9), 0);
});

test('timers: any sequence of arm/cancel fires exactly the armed timers in order (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ t: fc.nat(20), due: fc.nat(1000), cancel: fc.boolean() }), { maxLength: 200 }),
      (ops) => {
        const timers = new TimerSet();
        const fired: number[] = [];
        const ts = Array.from({ length: 21 }, (_, i) => timers.create(() => fired.push(i)));
        const expect = new Map<number, number>();
        for (const op of ops) {
          if (op.cancel) {
            timers.cancel(ts[op.t]!);
            expect.delete(op.t);
          } else {
            timers.arm(ts[op.t]!, op.due);
            expect.set(op.t, op.due);
          }
        }
        timers.runDue(Infinity);
        const dues = fired.map((i) => expect.get(i)!);
        assert.equal(fired.length, expect.size);
        assert.deepEqual(dues, [...dues].sort((a, b) => a - b));
      },
    ),
    { numRuns: 300 },
  );
});

test('virtual clock: moves only forward, when told', () => {
  const clock = new VirtualClock();
  assert.equal(clock.now(), 0);
  clock.advanceBy(1.5);
  clock.advanceTo(2);
  assert.equal(clock.now(), 2);
  assert.throws(() => clock.advanceTo(1), /forward/);
});
