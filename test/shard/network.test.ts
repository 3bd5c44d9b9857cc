/**
 * Shards in workers on the memory link that spans them (src/shard/worker-network.ts):
 * two hosts, a server and a client, each with one queue per shard; shard i runs both
 * hosts' stacks over their queues i. Connections land on the shard that owns them and
 * their bytes arrive intact, with and without forwarding between the shards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../../src/shard/engine.js';
import { DEFAULT_RSS_KEY, SYMMETRIC_RSS_KEY } from '../../src/wire/toeplitz.js';
import { ACCEPTED, FINISHED, INTACT, LISTEN0_PORT, RESULT_WORDS, WRONG_PORT, WRONG_SHARD, resultOf, type EchoPairsData } from './apps/echo-pairs.js';

import { dhcpResults } from './apps/dhcp-client.js';
import { OFFERED } from './dhcp-script.js';

const app = new URL('./apps/echo-pairs.js', import.meta.url);

async function waitFinished(results: SharedArrayBuffer, shards: number, ms: number): Promise<void> {
  const r = new Int32Array(results);
  const until = Date.now() + ms;
  while (Atomics.load(r, FINISHED) < shards) {
    if (Date.now() > until) throw new Error(`only ${Atomics.load(r, FINISHED)} of ${shards} shards finished within ${ms} ms`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

const SEED = Number(process.env['SHOAL_SEED'] ?? Date.now() % 2 ** 31);

for (const shards of [2, 4]) {
  for (const [aligned, faulty] of [[true, false], [false, false], [false, true]] as const) {
    const how = aligned ? 'a symmetric key on both hosts: no frame of a connection crosses shards' : 'different keys: half the flows owned by another server shard, their frames forwarded';
    const faults = faulty ? ', 1% loss and reordering each way' : '';
    test(`network: ${shards} shards in workers, 16 echo connections of 64 KB per client shard; ${how}${faults}`, async () => {
      const connections = 16;
      const serverKey = SYMMETRIC_RSS_KEY;
      const clientKey = aligned ? SYMMETRIC_RSS_KEY : DEFAULT_RSS_KEY;
      const results = new SharedArrayBuffer(4 * (2 + shards * RESULT_WORDS));
      const data: EchoPairsData = { results, connections, bytes: 64 * 1024, serverAddress: '10.0.0.1', serverKey, clientKey };
      const engine = await launch(app, {
        shards,
        data,
        network: {
          hosts: [
            { name: 'server', address: '10.0.0.1/24', device: { rssKey: serverKey } },
            { name: 'client', address: '10.0.0.2/24', device: { rssKey: clientKey } },
          ],
          ...(faulty ? { wire: { seed: SEED, aToB: { loss: 0.01, reorder: 0.01 }, bToA: { loss: 0.01, reorder: 0.01 } } } : {}),
        },
      });
      try {
        await waitFinished(results, shards, 60_000).catch((e: Error) => {
          throw new Error(`${e.message} (seed ${SEED}; rerun with SHOAL_SEED=${SEED})`);
        });
        const counters = await engine.counters();
        let accepted = 0;
        let forwardedTcp = 0;
        for (let s = 0; s < shards; s++) {
          assert.equal(resultOf(results, s, INTACT), connections, `shard ${s}: every echo intact (SHA-256) (seed ${SEED})`);
          assert.equal(resultOf(results, s, WRONG_SHARD), 0, `shard ${s}: accepted only connections it owns`);
          assert.equal(resultOf(results, s, WRONG_PORT), 0, `shard ${s}: connected only from ports whose replies steer back to it`);
          accepted += resultOf(results, s, ACCEPTED);
          const c = counters[s]!;
          assert.equal(c.shard, s);
          for (const h of c.hosts) {
            forwardedTcp += h.steering.forwarded;
            assert.equal(h.forward.drops.inFlight + h.forward.drops.ringFull + h.forward.drops.noFrame, 0, `shard ${s} ${h.host}: no forwarding drops`);
            if (!faulty) assert.equal(h.queue.rxDrops + h.queue.txDrops, 0, `shard ${s} ${h.host}: no queue drops`);
          }
        }
        assert.equal(accepted, shards * connections, 'every connection accepted once');
        const any = Array.from({ length: shards }, (_, s) => resultOf(results, s, LISTEN0_PORT));
        assert.ok(any[0]! > 0 && any.every((p) => p === any[0]), `listen(0) agreed on one port across the workers: ${any.join(', ')}`);
        const server0 = counters.map((c) => c.hosts.find((h) => h.host === 'server')!);
        const spread = server0.map((h) => h.stack.tcp.passiveOpens);
        assert.ok(spread.every((n) => n > 0), `every server shard accepted some: ${spread.join(', ')}`);
        // Quiet now: every frame back in its pool, every forwarded one given back to its owner.
        let quiet = await engine.counters();
        for (let i = 0; i < 50 && quiet.some((c) => c.hosts.some((h) => h.poolInUse > 0 || h.forward.frames !== h.forward.freed)); i++) {
          await new Promise((res) => setTimeout(res, 20));
          quiet = await engine.counters();
        }
        for (const c of quiet) {
          for (const h of c.hosts) {
            assert.equal(h.poolInUse, 0, `shard ${c.shard} ${h.host}: pool balanced`);
            assert.equal(h.forward.frames, h.forward.freed, `shard ${c.shard} ${h.host}: every forwarded frame given back`);
          }
        }
        if (aligned) {
          // Only ARP crosses: every ARP frame goes to every shard.
          assert.ok(forwardedTcp <= 2 * shards, `aligned: almost nothing forwarded (${forwardedTcp})`);
        } else {
          assert.ok(forwardedTcp > shards * connections, `unaligned: frames forwarded (${forwardedTcp})`);
        }
      } finally {
        await engine.stop();
      }
    });
  }
}

test('network: DHCP for a host spread over 2 workers runs on shard 0; the lease reaches the other worker, whose stack then talks from the leased address', async () => {
  const shards = 2;
  const results = dhcpResults(shards);
  const engine = await launch(new URL('./apps/dhcp-client.js', import.meta.url), {
    shards,
    data: results,
    network: {
      hosts: [
        { name: 'server', address: '10.0.0.1/24' },
        { name: 'client', dhcp: true },
      ],
    },
  });
  try {
    const r = new Int32Array(results);
    const until = Date.now() + 20_000;
    while (Atomics.load(r, 2 * shards) < shards && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
    for (let s = 0; s < shards; s++) {
      assert.equal(Atomics.load(r, 2 * s) >>> 0, OFFERED, `shard ${s}'s client stack has the leased address`);
      assert.equal(Atomics.load(r, 2 * s + 1), 1, `shard ${s} talked from it`);
    }
  } finally {
    await engine.stop();
  }
});
