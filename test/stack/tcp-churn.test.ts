/**
 * Connection churn with the server closing first: every connection leaves a TIME_WAIT on
 * the server, and a client that makes connection after connection to it comes back to
 * the same 4-tuples. Each new SYN must be taken as a new incarnation (RFC 6191 / RFC
 * 9293 §3.10.7.4: a higher timestamp, or sequence number, than the old one's), never
 * refused by PAWS, or it waits a whole SYN timeout (1 s). Two things make that so: our
 * timestamps towards a peer come from one clock per address pair (RFC 7323 §5.4), and
 * ports move forward per destination (RFC 6056 Algorithm 4, with Linux's small random
 * steps), so a 4-tuple comes back only after a good part of the range has been used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, IP_B } from './net.js';
import { seedFromEnv } from '../../src/util/random.js';
import { seedNote } from '../support/require.js';
import { EPHEMERAL_HIGH, EPHEMERAL_LOW } from '../../src/stack/ports.js';

const CONNECTIONS = 100_000;

test(`tcp churn: ${CONNECTIONS.toLocaleString('en')} sequential connections, the server closing first: no SYN sent twice, no RST, none refused`, () => {
  const seed = seedFromEnv();
  const note = seedNote(seed);
  // 50 µs each way: time moves, as it does between real hosts, and the range of 28,232
  // ports comes round several times, each 4-tuple back well within its TIME_WAIT (60 s).
  const n = twoStacks({ seed, aToB: { delay: 0.05 }, bToA: { delay: 0.05 } });
  const request = new Uint8Array(32).fill(1);
  const reply = new Uint8Array(32).fill(2);
  n.b.tcp.listen(80).onConnection((c) => {
    c.onReadable = () => {
      if (c.read() !== null) {
        c.write(reply);
        c.close(); // the server closes first: TIME_WAIT is on its side
      }
    };
  });
  let done = 0;
  let failed = 0;
  const RANGE = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
  const lastUse = new Map<number, number>();
  let closestReuse = Infinity;
  let previousPort = -1;
  let forward = 0;
  const next = (): void => {
    const c = n.a.tcp.connect({ dst: IP_B, dstPort: 80 });
    const port = c.localPort;
    const last = lastUse.get(port);
    if (last !== undefined) closestReuse = Math.min(closestReuse, done - last);
    lastUse.set(port, done);
    const step = previousPort < 0 ? 0 : (port - previousPort + RANGE) % RANGE;
    if (step >= 1 && step <= 4) forward++;
    previousPort = port;
    c.onConnect = () => c.write(request);
    c.onReadable = () => {
      while (c.read() !== null);
    };
    c.onEnd = () => c.close();
    c.onClose = (err) => {
      if (err) failed++;
      done++;
      if (done < CONNECTIONS) next();
    };
  };
  next();
  const started = n.clock.now();
  assert.ok(n.run(() => done === CONNECTIONS, 600_000), `${done} connections done ${note}`);
  const elapsed = n.clock.now() - started;
  const a = n.a.tcp.counters;
  const b = n.b.tcp.counters;
  console.log(
    `# churn: ${done} connections in ${(elapsed / 1000).toFixed(1)} s virtual; ${lastUse.size} ports, ${forward} a step forward, a 4-tuple back after ${closestReuse} connections at the soonest; server TIME_WAIT ${n.b.tcp.timeWait.size}, reused ${b.timeWaitReused}; ` +
      `SYN retransmits ${a.synRetransmits}, PAWS drops ${b.pawsDrops}, challenge ACKs ${b.challengeAcks}, resets ${a.resetsReceived}/${b.resetsReceived} ${note}`,
  );
  assert.equal(failed, 0, note);
  assert.ok(b.timeWaitReused > CONNECTIONS / 2, `the 4-tuples came back while their TIME_WAIT lasted: ${b.timeWaitReused} ${note}`);
  assert.equal(a.synRetransmits + a.rtoTimeouts, 0, `no SYN waited for a timeout ${note}`);
  assert.equal(b.pawsDrops + b.challengeAcks + b.drops.outOfWindow, 0, `no SYN refused at the server ${note}`);
  assert.equal(a.resetsReceived + b.resetsReceived + a.resetsSent + b.resetsSent, 0, `no RST either way ${note}`);
  assert.ok(forward > CONNECTIONS * 0.99, `ports towards one destination move forward by small steps: ${forward} ${note}`);
  assert.ok(closestReuse > RANGE / 4, `a 4-tuple came back after ${closestReuse} connections ${note}`);
});
