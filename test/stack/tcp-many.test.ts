/** 10,000 connections opened, used and closed: afterwards nothing is left anywhere. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, B_ADDR } from './tcp-harness.js';
import { seedFromEnv } from '../../src/util/random.js';

const SEED = seedFromEnv();
const S = `(SHOAL_SEED=${SEED})`;
const CONNECTIONS = 10_000;
const CONCURRENT = 1000;

test(`tcp: ${CONNECTIONS} connections opened, used and closed; every frame, timer and state released`, () => {
  const h = new Pair({ seed: SEED, slots: 16384, ab: { delay: 0.05 }, ba: { delay: 0.05 } });
  const l = h.b.tcp.listen(7, { backlog: 1024 });
  let served = 0;
  l.onConnection((s) => {
    s.onReadable = () => {
      let b;
      while ((b = s.read()) !== null) s.write(b);
    };
    s.onEnd = () => {
      s.close();
      served++;
    };
  });
  let done = 0;
  let errors = 0;
  const ports = new Set<number>();
  const t0 = performance.now();
  let opened = 0;
  // At most CONCURRENT at once (a SYN queue of 1024 without SYN cookies would drop the rest of a 10,000-SYN burst).
  const openOne = (): void => {
    const i = opened++;
    const c = h.a.tcp.connect({ dst: B_ADDR, dstPort: 7 });
    ports.add(c.localPort);
    const msg = new Uint8Array(100).fill(i & 0xff);
    let got = 0;
    c.onConnect = () => {
      c.write(msg);
      c.shutdown();
    };
    c.onReadable = () => {
      let b;
      while ((b = c.read()) !== null) {
        for (const x of b) if (x !== (i & 0xff)) errors++;
        got += b.length;
      }
    };
    c.onClose = (e) => {
      if (e || got !== 100) errors++;
      done++;
      if (opened < CONNECTIONS) openOne();
    };
  };
  for (let i = 0; i < CONCURRENT; i++) openOne();
  h.run(() => done === CONNECTIONS && served === CONNECTIONS);
  const wall = performance.now() - t0;
  assert.equal(errors, 0, S);
  assert.equal(done, CONNECTIONS);
  assert.equal(ports.size, CONNECTIONS, 'distinct ephemeral ports (TIME_WAIT holds them)');
  assert.equal(h.b.tcp.counters.drops.backlogFull, 0);
  assert.ok(h.a.tcp.counters.states.TIME_WAIT > 0 || h.b.tcp.counters.states.TIME_WAIT > 0);
  console.log(`# ${CONNECTIONS} connections in ${wall.toFixed(0)} ms wall, ${(h.now / 1000).toFixed(2)} s virtual; a: ${JSON.stringify({ out: h.a.tcp.counters.segmentsOut, rexmit: h.a.tcp.counters.retransmittedSegments, backlogB: h.b.tcp.counters.drops.backlogFull })}`);
  h.advance(61_000);
  l.close();
  assert.deepEqual(h.leaks(), [], S);
  for (const host of [h.a, h.b]) {
    const st = host.tcp.counters.states;
    for (const [name, n] of Object.entries(st)) assert.equal(n, 0, `${name} count`);
    assert.equal(host.timers.size, 0);
  }
});
