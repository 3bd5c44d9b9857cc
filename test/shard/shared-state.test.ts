/**
 * What shards sharing one address share (seed 001), on one thread under the virtual
 * clock: a DHCP lease got by shard 0 is every shard's address (and its loss every
 * shard's), an ARP entry one shard learned serves the others, and 8,000-byte pings —
 * fragments landing on a queue of a shard that does not own them — are answered whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../src/api/network.js';
import { VirtualClock } from '../../src/time/clock.js';
import { dhcpServer, OFFERED, SERVER } from './dhcp-script.js';

const SEED = Number(process.env['SHOAL_SEED'] ?? Date.now() % 2 ** 31);
const S = `(seed ${SEED}; rerun with SHOAL_SEED=${SEED})`;

for (const shards of [2, 4]) {
  test(`shards (${shards}, one thread): DHCP runs on shard 0 and its lease is every shard's address; connections to it work on every shard; a NAK at renewal takes it from all`, () => {
    const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
    net.loop.stop();
    const server = net.addHost();
    const dhcp = dhcpServer(server.stack);
    const group = net.addShardedHost({ shards, address: undefined });
    for (const h of group.hosts) assert.equal(h.stack.address, 0, 'no address before the lease');
    const client = group.startDhcp({ probeMs: 0 });
    net.loop.runUntil({ done: () => client.state === 'BOUND' && group.hosts.every((h) => h.stack.address === OFFERED), until: 10_000 });
    group.hosts.forEach((h, shard) => {
      assert.equal(h.stack.address, OFFERED, `shard ${shard} has the leased address ${S}`);
      assert.equal(h.stack.ipv4.prefix, 24, `shard ${shard}'s prefix`);
      assert.equal(h.stack.ipv4.gateway, SERVER, `shard ${shard}'s gateway`);
    });

    // The server reaches the leased address; each connection is served by the shard that owns it.
    const served = new Set<number>();
    group.hosts.forEach((h, shard) => {
      h.stack.tcp.listen(80).onConnection((c) => {
        served.add(shard);
        c.onReadable = () => {
          for (let b = c.read(); b !== null; b = c.read()) c.write(b);
        };
        c.onEnd = () => c.close();
      });
    });
    let echoed = 0;
    for (let i = 0; i < 32; i++) {
      const c = server.stack.tcp.connect({ dst: OFFERED, dstPort: 80 });
      c.onConnect = () => {
        c.write(new Uint8Array([i]), 0, 1);
        c.shutdown();
      };
      c.onReadable = () => {
        for (let b = c.read(); b !== null; b = c.read()) if (b[0] === i) echoed++;
      };
      c.onEnd = () => c.close();
    }
    net.loop.runUntil({ done: () => echoed === 32, until: net.loop.clock.now() + 10_000 });
    assert.equal(echoed, 32, `every connection to the leased address answered ${S}`);
    assert.equal(served.size, shards, 'every shard served some');

    // Renewal (T1 = 30 s) is NAKed: the address goes on every shard.
    dhcp.nak();
    net.loop.runUntil({ done: () => group.hosts.every((h) => h.stack.address === 0), until: net.loop.clock.now() + 40_000 });
    group.hosts.forEach((h, shard) => assert.equal(h.stack.address, 0, `shard ${shard} lost the address with the NAK ${S}`));
    assert.ok(dhcp.requests() >= 2);
    client.stop();
    net.close();
  });
}

test('shards (one thread): an ARP entry learned on one shard serves the others (the reply reaches every shard)', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const peer = net.addHost();
  const group = net.addShardedHost({ shards: 3 });
  const got: number[] = [];
  peer.stack.udp.open().bind(9).onMessage = (d) => got.push(d.data[0]!);
  const sockets = group.hosts.map((h) => h.stack.udp.open());
  net.loop.runUntil({ until: 100 }); // the announcement (a gratuitous ARP request) is out
  const asked = (shard: number): number => group.hosts[shard]!.stack.counters().arp.txRequests;
  const before = [0, 1, 2].map(asked);
  sockets[0]!.send(new Uint8Array([0]), 9, SERVER);
  net.loop.runUntil({ done: () => got.length === 1, until: net.loop.clock.now() + 5_000 });
  assert.deepEqual(got, [0]);
  assert.equal(asked(0) - before[0]!, 1, 'shard 0 asked');
  sockets[1]!.send(new Uint8Array([1]), 9, SERVER);
  sockets[2]!.send(new Uint8Array([2]), 9, SERVER);
  net.loop.runUntil({ done: () => got.length === 3, until: net.loop.clock.now() + 5_000 });
  assert.deepEqual(got.sort(), [0, 1, 2], 'the other shards reached the peer');
  assert.equal(asked(1) - before[1]!, 0, 'shard 1 used what shard 0 learned');
  assert.equal(asked(2) - before[2]!, 0, 'shard 2 used what shard 0 learned');
  net.close();
});

test('shards (one thread): 8,000-byte pings to the shared address, their fragments landing on queues of other shards, are answered whole', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const peer = net.addHost();
  const shards = 4;
  // The device's table disagrees with steering: frames land on one queue, their shard is another.
  const table = new Uint8Array(128);
  for (let i = 0; i < 128; i++) table[i] = shards - 1 - (i % shards);
  const group = net.addShardedHost({ shards, device: { rssTable: table } });
  const target = group.hosts[0]!.stack.address;
  const replies = new Map<number, boolean>();
  peer.stack.icmp.onEchoReply = (src, _id, seq, data) => {
    let ok = src === target && data.length === 8000;
    for (let i = 0; i < data.length && ok; i++) ok = data[i] === ((seq + i) & 0xff);
    replies.set(seq, ok);
  };
  const count = 20;
  for (let seq = 0; seq < count; seq++) {
    const payload = new Uint8Array(8000);
    for (let i = 0; i < payload.length; i++) payload[i] = (seq + i) & 0xff;
    assert.ok(peer.stack.icmp.sendEcho(target, 7, seq, payload));
    net.loop.runUntil({ until: net.loop.clock.now() + 10 });
  }
  net.loop.runUntil({ done: () => replies.size === count, until: net.loop.clock.now() + 5_000 });
  assert.equal(replies.size, count, `every ping answered ${S}`);
  for (const [seq, ok] of replies) assert.ok(ok, `ping ${seq} answered whole`);
  const forwarded = group.queues.reduce((n, q) => n + q.counters.forwarded, 0);
  assert.ok(forwarded > 0, 'fragments were forwarded to the shard that reassembles them');
  const reassembled = group.hosts.map((h) => h.stack.counters().ipv4.reasmOks);
  assert.equal(reassembled.reduce((a, b) => a + b, 0), count, `each ping reassembled once: ${reassembled.join(', ')}`);
  net.close();
});

test('shards (one thread): listen(0) on every shard agrees on one port, a second listen(0) on another; connections to it reach every shard; a shard where the agreed port is taken says EADDRINUSE', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const peer = net.addHost();
  const shards = 4;
  const group = net.addShardedHost({ shards });
  const served = new Set<number>();
  const first = group.hosts.map((h, shard) => {
    const l = h.stack.tcp.listen(0);
    l.onConnection((c) => {
      served.add(shard);
      c.onEnd = () => c.close();
    });
    return l.port;
  });
  const second = group.hosts.map((h) => h.stack.tcp.listen(0).port);
  assert.ok(first[0]! > 0 && first.every((p) => p === first[0]), `one port for the first listen(0): ${first.join(', ')}`);
  assert.ok(second.every((p) => p === second[0]) && second[0] !== first[0], `another for the second: ${second.join(', ')}`);
  let closed = 0;
  for (let i = 0; i < 40; i++) {
    const c = peer.stack.tcp.connect({ dst: group.hosts[0]!.stack.address, dstPort: first[0]! });
    c.onConnect = () => c.shutdown();
    c.onEnd = () => c.close();
    c.onClose = () => closed++;
  }
  net.loop.runUntil({ done: () => closed === 40, until: 10_000 });
  assert.equal(closed, 40, S);
  assert.equal(served.size, shards, 'every shard served connections on the agreed port');
  // Shard 1 already listens on the port the others will agree on next: it cannot follow them.
  const third = group.hosts[0]!.stack.tcp.listen(0).port;
  group.hosts[1]!.stack.tcp.listen(third);
  assert.throws(() => group.hosts[1]!.stack.tcp.listen(0), /EADDRINUSE/);
  net.close();
});

test('shards (one thread): a UDP socket that sends before binding gets a port whose replies steer back to its shard — every answer reaches its socket', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const peer = net.addHost();
  const group = net.addShardedHost({ shards: 4 });
  const echo = peer.stack.udp.open().bind(7);
  echo.onMessage = (d) => echo.send(d.data, d.port, d.address);
  let answered = 0;
  const wrongShard: number[] = [];
  group.hosts.forEach((h, shard) => {
    for (let i = 0; i < 8; i++) {
      const s = h.stack.udp.open();
      s.onMessage = (d) => {
        if (d.data[0] === shard && d.data[1] === i) answered++;
      };
      s.send(new Uint8Array([shard, i]), 7, peer.stack.address);
      if (group.steering.shardOfFlow(h.stack.address, peer.stack.address, s.localPort, 7) !== shard) wrongShard.push(s.localPort);
    }
    const connected = h.stack.udp.open().connect(peer.stack.address, 7);
    if (group.steering.shardOfFlow(h.stack.address, peer.stack.address, connected.localPort, 7) !== shard) wrongShard.push(connected.localPort);
  });
  net.loop.runUntil({ done: () => answered === 32, until: 5_000 });
  assert.deepEqual(wrongShard, [], 'every autobound port steers back to its shard');
  assert.equal(answered, 32, `every answer reached its socket ${S}`);
  net.close();
});
