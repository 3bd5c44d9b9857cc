/**
 * node:dgram compatibility: every scenario runs against real node:dgram on 127.0.0.1 and
 * against Shoal (two hosts on a MemoryNetwork); node:dgram's log must be the one the
 * scenario documents (dgram-expected.ts), and Shoal's must equal it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenarios } from './dgram-scenarios.js';
import { expected } from './dgram-expected.js';
import { nodeWorld, run, shoalWorld, type World } from './dgram-world.js';

/** What the Shoal run must also show, beyond node:dgram's log. */
const shoalChecks: Record<string, (w: World) => void> = {
  'a 60,000-byte datagram (fragmented on Shoal), 65,507 bytes (the most), then 65,508 (EMSGSIZE)': (w) => {
    const [a, b] = w.network!.hosts.map((h) => h.stack.counters().ipv4);
    assert.equal(a!.fragOks, 2, 'A fragmented the two datagrams it sent');
    assert.equal(b!.reasmOks, 2, 'B reassembled them');
    assert.equal(b!.fragOks, 1, 'B fragmented its echo');
    assert.equal(a!.reasmOks, 1, 'A reassembled it');
  },
};

test('every scenario has the log node:dgram is expected to give, and every expectation a scenario', () => {
  assert.deepEqual(Object.keys(expected).sort(), Object.keys(scenarios).sort());
});

for (const [name, scenario] of Object.entries(scenarios)) {
  test(`dgram compatibility: ${name}`, async () => {
    const node = await run(nodeWorld(), scenario);
    assert.deepEqual(node, expected[name], 'node:dgram behaves as the scenario documents');
    const shoal = await run(shoalWorld(), scenario, shoalChecks[name]);
    assert.deepEqual(shoal, node, 'Shoal behaves as node:dgram');
  });
}
