/**
 * Connection churn with the server closing first: every connection leaves a TIME_WAIT on
 * the server, and a client that makes connection after connection to it comes back to
 * the same 4-tuples. Each new SYN must be taken as a new incarnation (RFC 6191 / RFC
 * 9293 §3.10.7.4: a higher timestamp, or sequence number, than the old one's), never
 * refused by PAWS, or it waits a whole SYN timeout (1 s). Two things make that so: our
 * timestamps towards a peer come from one clock per address pair (RFC 7323 §5.4), and
 * ports advance in order per destination (RFC 6056 Algorithm 4), so a 4-tuple comes back
 * only after the range has been used.
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
  // 50 µs each way: time moves, as it does between real hosts, and the range of
  // 28,232 ports comes round three times, each 4-tuple well within its TIME_WAIT (60 s).
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
  const ports = new Set<number>();
  let previousPort = -1;
  let inOrder = 0;
  const next = (): void => {
    const c = n.a.tcp.connect({ dst: IP_B, dstPort: 80 });
    ports.add(c.localPort);
    if (previousPort >= 0 && c.localPort === (previousPort + 1 > EPHEMERAL_HIGH ? EPHEMERAL_LOW : previousPort + 1)) inOrder++;
    previousPort = c.localPort;
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
    `# churn: ${done} connections in ${(elapsed / 1000).toFixed(1)} s virtual; ${ports.size} ports, ${inOrder} in order; server TIME_WAIT ${n.b.tcp.timeWait.size}, reused ${b.timeWaitReused}; ` +
      `SYN retransmits ${a.synRetransmits}, PAWS drops ${b.pawsDrops}, challenge ACKs ${b.challengeAcks}, resets ${a.resetsReceived}/${b.resetsReceived} ${note}`,
  );
  assert.equal(failed, 0, note);
  assert.ok(b.timeWaitReused > CONNECTIONS / 2, `the 4-tuples came back while their TIME_WAIT lasted: ${b.timeWaitReused} ${note}`);
  assert.equal(a.synRetransmits + a.rtoTimeouts, 0, `no SYN waited for a timeout ${note}`);
  assert.equal(b.pawsDrops + b.challengeAcks + b.drops.outOfWindow, 0, `no SYN refused at the server ${note}`);
  assert.equal(a.resetsReceived + b.resetsReceived + a.resetsSent + b.resetsSent, 0, `no RST either way ${note}`);
  assert.equal(ports.size, EPHEMERAL_HIGH - EPHEMERAL_LOW + 1, 'every ephemeral port was used before any came back');
  assert.ok(inOrder > CONNECTIONS * 0.99, `ports towards one destination advance in order: ${inOrder} ${note}`);
});
