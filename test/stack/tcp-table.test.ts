/** The connection table against a Map as the model (fast-check), and the TIME_WAIT records. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConnectionTable } from '../../src/stack/tcp/table.js';
import { TimeWaitTable, type TimeWaitState } from '../../src/stack/tcp/time-wait.js';
import { TimerSet } from '../../src/time/timers.js';
import { newTcpCounters } from '../../src/stack/tcp/counters.js';
import { seedFromEnv } from '../../src/util/random.js';
import { CLOSED, TIME_WAIT } from '../../src/stack/tcp/state.js';

const SEED = seedFromEnv();
const S = `(SHOAL_SEED=${SEED})`;

class Entry {
  hashNext: Entry | null = null;
  constructor(
    readonly localAddress: number,
    readonly localPort: number,
    readonly remoteAddress: number,
    readonly remotePort: number,
  ) {}
}

test('connection table: find/insert/remove agree with a Map through growth and shrinking', () => {
  const tuple = fc.tuple(fc.constantFrom(0x0a000001, 0x0a000003), fc.constantFrom(80, 443), fc.integer({ min: 0x0a000000, max: 0x0a0000ff }), fc.integer({ min: 1, max: 2000 }));
  const op = fc.tuple(fc.boolean(), tuple);
  fc.assert(
    fc.property(fc.array(op, { maxLength: 3000 }), fc.integer(), (ops, secret) => {
      const t = new ConnectionTable<Entry>(secret);
      const model = new Map<string, Entry>();
      for (const [add, [la, lp, ra, rp]] of ops) {
        const key = `${la}:${lp}:${ra}:${rp}`;
        const have = model.get(key);
        if (add && have === undefined) {
          const e = new Entry(la, lp, ra, rp);
          t.insert(e);
          model.set(key, e);
        } else if (!add && have !== undefined) {
          assert.equal(t.remove(have), true);
          model.delete(key);
        }
        assert.equal(t.find(la, lp, ra, rp), model.get(key) ?? null);
        assert.equal(t.size, model.size);
      }
      assert.equal(t.all().length, model.size);
      for (const e of model.values()) assert.equal(t.find(e.localAddress, e.localPort, e.remoteAddress, e.remotePort), e);
    }),
    { seed: SEED, numRuns: 60 },
  );
});

function twState(remotePort: number, duration: number): TimeWaitState {
  return {
    localAddress: 0x0a000001, localPort: 80, remoteAddress: 0x0a000002, remotePort,
    sndNxt: 1000, rcvNxt: 5000, rcvWnd: 65535, windowField: 65535, maxSndWnd: 65535,
    tsOk: false, tsRecent: 0, tsRecentAt: 0, tsOffset: 0, lastChallengeAt: -Infinity, duration,
  };
}

test('TIME_WAIT records expire in order of their deadline, whatever order they came in, and give their ports back', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 5000 })), { minLength: 1, maxLength: 600 }), (adds) => {
      const timers = new TimerSet();
      const stateCounts = new Int32Array(11);
      const freed: number[] = [];
      const tw = new TimeWaitTable(timers, 7, 100_000, newTcpCounters(stateCounts), stateCounts, () => {}, (port) => freed.push(port));
      const deadlines: { port: number; at: number }[] = [];
      let now = 0;
      adds.forEach(([gap, duration], k) => {
        now += gap;
        timers.runDue(now);
        const port = 1000 + k;
        stateCounts[TIME_WAIT]!++;
        assert.ok(tw.add(twState(port, duration), now) >= 0);
        deadlines.push({ port, at: now + duration });
      });
      // Run the clock forward and check each record goes at its own deadline.
      const order = [...deadlines].sort((a, b) => a.at - b.at);
      for (const d of order) {
        if (tw.find(0x0a000001, 80, 0x0a000002, d.port) < 0) {
          assert.ok(d.at <= now, `port ${d.port} gone only once due ${S}`);
          continue;
        }
        timers.runDue(d.at - 0.5);
        assert.ok(tw.find(0x0a000001, 80, 0x0a000002, d.port) >= 0, `port ${d.port} not gone before its deadline ${S}`);
        now = d.at;
        timers.runDue(now);
        assert.equal(tw.find(0x0a000001, 80, 0x0a000002, d.port), -1, `port ${d.port} gone at its deadline ${S}`);
      }
      assert.equal(tw.size, 0);
      assert.equal(timers.size, 0, 'no timer left armed');
      assert.equal(freed.length, adds.length);
      assert.equal(stateCounts[TIME_WAIT], 0);
      assert.equal(stateCounts[CLOSED], 0, 'a closed connection is in no state count');
    }),
    { seed: SEED, numRuns: 40 },
  );
});

test('TIME_WAIT records: a handle (slot, generation) does not outlive its record; the table refuses past its limit', () => {
  const timers = new TimerSet();
  const stateCounts = new Int32Array(11);
  const tw = new TimeWaitTable(timers, 7, 2, newTcpCounters(stateCounts), stateCounts, () => {}, () => {});
  const a = tw.add(twState(1, 100), 0);
  const genA = tw.generation(a);
  assert.ok(tw.holds(a, genA));
  assert.ok(tw.add(twState(2, 100), 0) >= 0);
  assert.equal(tw.add(twState(3, 100), 0), -1, 'full at 2');
  tw.remove(a);
  assert.equal(tw.holds(a, genA), false);
  const again = tw.add(twState(4, 100), 0);
  assert.equal(again, a, 'the slot is reused');
  assert.equal(tw.holds(a, genA), false, 'the old handle stays dead');
  assert.ok(tw.holds(again, tw.generation(again)));
  tw.clear();
  assert.equal(tw.size, 0);
  assert.equal(timers.size, 0);
});
