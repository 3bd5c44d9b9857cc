/** DESIGN.md, Data path: a burst of received frames produces at most one ACK per connection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, IP_B } from './net.js';

test('tcp: ten segments arriving in one burst are answered by one ACK', () => {
  // No TSO or LRO: ten separate wire frames, which the receiving queue hands over as one burst.
  const n = twoStacks({ device: { tso: false, lro: false } });
  const server = n.b.tcp.listen(80);
  let conn: ReturnType<typeof n.b.tcp.connect> | null = null;
  server.onConnection((c) => (conn = c));
  const client = n.a.tcp.connect({ dst: IP_B, dstPort: 80 });
  client.setNoDelay(true);
  assert.ok(n.run(() => conn !== null, 1000));
  n.run(undefined, 100);
  const acksBefore = n.b.tcp.counters.segmentsOut;
  const framesBefore = n.devB.totals().rxFrames;
  const mss = client.sndMss;
  assert.equal(client.write(new Uint8Array(10 * mss)), 10 * mss);
  n.run(undefined, 1);
  assert.equal(n.devB.totals().rxFrames - framesBefore, 10, 'ten frames on the wire');
  assert.equal(n.b.tcp.counters.segmentsOut - acksBefore, 1, 'one ACK for the whole burst');
  assert.equal(conn!.readableLength, 10 * mss);
});
