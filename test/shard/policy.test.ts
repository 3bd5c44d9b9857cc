/**
 * Queue-to-shard policies (libVMA's ring allocation logic), on one thread under the
 * virtual clock: one queue per shard, one shared queue driven by shard 0 with proxies
 * for the others, more queues than shards, and flows pinned to a shard by our port or
 * by the peer's address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../src/api/network.js';
import type { Host } from '../../src/api/host.js';
import type { ShardGroup } from '../../src/shard/group.js';
import { VirtualClock } from '../../src/time/clock.js';

const SEED = Number(process.env['SHOAL_SEED'] ?? Date.now() % 2 ** 31);
const S = `(seed ${SEED}; rerun with SHOAL_SEED=${SEED})`;

/** Every shard listens on `port`; returns, per connection (by the client's port), the shard that served it. */
function serve(group: ShardGroup, port: number): Map<number, number> {
  const served = new Map<number, number>();
  group.hosts.forEach((h, shard) =>
    h.stack.tcp.listen(port).onConnection((c) => {
      served.set(c.remotePort, shard);
      c.onReadable = () => {
        for (let b = c.read(); b !== null; b = c.read()) c.write(b);
      };
      c.onEnd = () => c.close();
    }),
  );
  return served;
}

/** `n` connections from `client` to the group, each echoing 1 KB; resolves to how many came back intact. */
function churn(net: MemoryNetwork, client: Host, group: ShardGroup, port: number, n: number): number {
  let intact = 0;
  const data = new Uint8Array(1024).map((_, i) => i & 0xff);
  for (let i = 0; i < n; i++) {
    const c = client.stack.tcp.connect({ dst: group.hosts[0]!.stack.address, dstPort: port });
    let got = 0;
    let ok = true;
    c.onConnect = () => {
      c.write(data, 0, data.length);
      c.shutdown();
    };
    c.onReadable = () => {
      for (let b = c.read(); b !== null; b = c.read()) {
        for (let k = 0; k < b.length; k++) if (b[k] !== ((got + k) & 0xff)) ok = false;
        got += b.length;
      }
    };
    c.onEnd = () => {
      if (ok && got === data.length) intact++;
      c.close();
    };
  }
  net.loop.runUntil({ done: () => intact === n, until: net.loop.clock.now() + 20_000 });
  return intact;
}

test("queue policy 'shared': shard 0 drives all 4 queues, the other shards send through it; every flow on its shard, intact", () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const client = net.addHost();
  const group = net.addShardedHost({ shards: 4, device: { queues: 4 }, queuePolicy: 'shared' });
  assert.equal(group.queues.length, 1);
  assert.equal(group.proxies.length, 3);
  const served = serve(group, 80);
  assert.equal(churn(net, client, group, 80, 40), 40, S);
  const addr = group.hosts[0]!.stack.address;
  for (const [port, shard] of served) assert.equal(shard, group.steering.shardOfFlow(addr, client.stack.address, 80, port));
  assert.equal(new Set(served.values()).size, 4, 'flows on every shard');
  for (const p of group.proxies) assert.equal(p.owner, 0);
  assert.ok(group.proxies.every((p) => p.stats.txFrames > 0), 'every proxy sent through shard 0');
  net.close();
});

test("queue policy 'per-shard' with more queues than shards: 2 shards drive 4 queues, no frame dropped for want of a driver", () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const client = net.addHost();
  const group = net.addShardedHost({ shards: 2, device: { queues: 4 } });
  serve(group, 80);
  assert.equal(churn(net, client, group, 80, 40), 40, S);
  const device = net.switch.ports.at(-1)!.device;
  assert.equal(device.counters.rxNoReceiver, 0);
  assert.ok(device.queues.every((q) => q.stats.rxFrames > 0), 'every queue received');
  net.close();
});

test('pins: every connection to a pinned port lands on its shard, every flow from a pinned peer on its; only that shard can connect to the pinned peer', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const pinnedPeer = net.addHost(); // 10.0.0.1
  const other = net.addHost(); // 10.0.0.2
  const group = net.addShardedHost({ shards: 4, steering: { pins: [{ port: 8080, shard: 2 }, { address: pinnedPeer.stack.address, shard: 1 }] } });
  const toPort = serve(group, 8080);
  const toAny = serve(group, 80);
  assert.equal(churn(net, other, group, 8080, 30), 30, S);
  assert.deepEqual(new Set(toPort.values()), new Set([2]), 'port 8080 is shard 2’s');
  assert.equal(churn(net, pinnedPeer, group, 80, 30), 30, S);
  assert.deepEqual(new Set(toAny.values()), new Set([1]), 'the pinned peer’s flows are shard 1’s');
  // The port pin wins over the address pin.
  toPort.clear();
  assert.equal(churn(net, pinnedPeer, group, 8080, 10), 10, S);
  assert.deepEqual(new Set(toPort.values()), new Set([2]));
  // Outgoing: replies from the pinned peer go to shard 1, so only shard 1 finds a port.
  pinnedPeer.stack.tcp.listen(9).onConnection((c) => (c.onEnd = () => c.close()));
  const errors: (string | null)[] = [];
  group.hosts.forEach((h) => {
    const c = h.stack.tcp.connect({ dst: pinnedPeer.stack.address, dstPort: 9 });
    errors.push(null);
    const k = errors.length - 1;
    c.onClose = (e) => (errors[k] = e?.code ?? null);
    c.onConnect = () => c.shutdown();
  });
  net.loop.runUntil({ until: net.loop.clock.now() + 1000 });
  assert.deepEqual(errors, ['EADDRNOTAVAIL', null, 'EADDRNOTAVAIL', 'EADDRNOTAVAIL']);
  net.close();
});

test('pins: a pin naming a shard that does not exist, or a bad port, is a RangeError', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock() });
  net.loop.stop();
  assert.throws(() => net.addShardedHost({ shards: 2, steering: { pins: [{ port: 80, shard: 2 }] } }), /shards are 0\.\.1/);
  assert.throws(() => net.addShardedHost({ shards: 2, steering: { pins: [{ port: 0, shard: 1 }] } }), /ports are 1\.\.65535/);
  net.close();
});
