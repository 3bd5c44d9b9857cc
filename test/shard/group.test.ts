/**
 * Shards on one thread (src/shard/group.ts) on the memory link, under the virtual clock:
 * a host of N stacks on one address serves connections from another host; each
 * connection is handled by the shard that owns its flow (steering decides, not the
 * device: the device's own RSS table is set to disagree, so frames arrive on the wrong
 * queue and are forwarded), data arrives intact under loss and reordering, outgoing
 * connections from each shard pick ports that steer back to it, and every frame goes
 * back to its pool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MemoryNetwork } from '../../src/api/network.js';
import type { TcpConnection } from '../../src/stack/tcp/connection.js';
import { VirtualClock } from '../../src/time/clock.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { Random } from '../../src/util/random.js';

const SEED = Number(process.env['SHOAL_SEED'] ?? Date.now() % 2 ** 31);
const S = `(seed ${SEED}; rerun with SHOAL_SEED=${SEED})`;
const A = parseIpv4('10.0.0.1');
const B = parseIpv4('10.0.0.2');

function pattern(n: number, seed: number): Uint8Array {
  const r = new Random(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}


/** Writes all of `data` to `c` as the window allows, then ends its side (half-close: the answer still comes). */
function pump(c: TcpConnection, data: Uint8Array): void {
  let off = 0;
  const more = (): void => {
    while (off < data.length) {
      const n = c.write(data, off, data.length - off);
      if (n === 0) return;
      off += n;
    }
    c.shutdown();
  };
  c.onWritable = more;
  more();
}

/** A reversed device RSS table: frames land on a queue steering does not pick, so shards forward. */
function disagreeingTable(queues: number): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < 128; i++) t[i] = queues - 1 - (i % queues);
  return t;
}

for (const shards of [2, 4]) {
  test(`shards (${shards}, one thread): each of 120 connections lands on the shard that owns its flow; 64 KB arrive intact under loss and reordering (the server answers with their SHA-256); pools balanced`, () => {
    const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
    net.loop.stop(); // driven by runUntil below
    const client = net.addHost({ port: { faults: { loss: 0.01, reorder: 0.02, delay: 1 } } });
    const group = net.addShardedHost({ shards, device: { rssTable: disagreeingTable(shards) }, port: { faults: { loss: 0.01, reorder: 0.02, delay: 1 } } });
    const owner: number[] = [];
    const served = new Map<number, { shard: number; got: Uint8Array[] }>();
    group.hosts.forEach((h, shard) => {
      h.stack.tcp.listen(80).onConnection((c) => {
        const rec = { shard, got: [] as Uint8Array[] };
        served.set(c.remotePort, rec);
        owner.push(shard);
        c.onReadable = () => {
          for (let b = c.read(); b !== null; b = c.read()) rec.got.push(b);
        };
        c.onEnd = () => {
          const all = Buffer.concat(rec.got);
          pump(c, createHash('sha256').update(all).digest()); // answers with the digest of what it got
          c.close();
        };
      });
    });
    const conns = 120;
    const data = pattern(64 * 1024, SEED);
    const answers = new Map<number, Uint8Array[]>();
    let finished = 0;
    for (let i = 0; i < conns; i++) {
      const c = client.stack.tcp.connect({ dst: B, dstPort: 80 });
      const got: Uint8Array[] = [];
      answers.set(c.localPort, got);
      c.onConnect = () => pump(c, data);
      c.onReadable = () => {
        for (let b = c.read(); b !== null; b = c.read()) got.push(b);
      };
      c.onClose = (e) => {
        assert.equal(e, undefined, `connection ${i} ${S}`);
        finished++;
      };
    }
    net.loop.runUntil({ done: () => finished === conns, until: 120_000 });
    assert.equal(finished, conns, `all finished ${S}`);
    const want = createHash('sha256').update(data).digest('hex');
    // (Each server answered with the SHA-256 of what it received.)
    for (const [port, got] of answers) assert.equal(Buffer.concat(got).toString('hex'), want, `the server got 64 KB intact on port ${port} ${S}`);
    // The owner: the shard steering picks for the flow's incoming packets, for every connection.
    for (const [port, rec] of served) assert.equal(rec.shard, group.steering.shardOfFlow(B, A, 80, port), `port ${port} ${S}`);
    for (let s = 0; s < shards; s++) assert.ok(owner.includes(s), `shard ${s} served some ${S}`);
    const forwarded = group.queues.reduce((n, q) => n + q.counters.forwarded, 0);
    assert.ok(forwarded > 0, 'frames that arrived on the wrong queue were forwarded');
    // Let TIME_WAIT and every timer run out; then nothing is held anywhere.
    net.loop.runUntil({ until: net.loop.clock.now() + 300_000 });
    const device = group.queues[0]!.rxPools[0]!;
    assert.equal(device.inUse, 0, `receive pool balanced ${S}`);
    assert.equal(device.counters().doubleReleases, 0);
    for (const f of group.forwarders) {
      assert.equal(f.counters.frames, f.counters.freed, 'every forwarded frame came back');
      assert.ok(f.inFlight.every((n) => n === 0));
    }
    for (const h of group.hosts) assert.equal(h.stack.tcp.connections, 0);
    console.log(`# ${shards} shards: ${conns} connections, ${forwarded} frames forwarded, served per shard ${Array.from({ length: shards }, (_, s) => owner.filter((o) => o === s).length).join('/')} ${S}`);
    net.close();
  });
}

test('shards (one thread): each shard connects from ports whose replies steer back to it, so its flows need no forwarding', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const server = net.addHost();
  const group = net.addShardedHost({ shards: 4 });
  let accepted = 0;
  server.stack.tcp.listen(7).onConnection((c) => {
    accepted++;
    c.onReadable = () => {
      for (let b = c.read(); b !== null; b = c.read()) c.write(b);
    };
    c.onEnd = () => c.close();
  });
  let echoed = 0;
  group.hosts.forEach((h, shard) => {
    for (let i = 0; i < 10; i++) {
      const c = h.stack.tcp.connect({ dst: A, dstPort: 7 });
      assert.equal(group.steering.shardOfFlow(B, A, c.localPort, 7), shard, `port ${c.localPort} steers to shard ${shard}`);
      c.onConnect = () => {
        c.write(new Uint8Array([shard, i]));
        c.shutdown();
      };
      c.onReadable = () => {
        for (let b = c.read(); b !== null; b = c.read()) echoed += b.length;
      };
    }
  });
  net.loop.runUntil({ done: () => echoed === 80, until: 60_000 });
  assert.equal(accepted, 40);
  assert.equal(echoed, 80);
  const forwarded = group.queues.reduce((n, q) => n + q.counters.forwarded, 0);
  assert.equal(forwarded, 0, 'the device RSS and steering agree, and every port was chosen for its shard');
  net.close();
});

test('shards (one thread): fragmented datagrams from every shard to one peer at once all arrive intact (each shard has its own share of IP identifications)', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const peer = net.addHost();
  const group = net.addShardedHost({ shards: 3 });
  const sink = peer.stack.udp.open().bind(9);
  const got = new Set<string>();
  let bad = 0;
  sink.onMessage = (d) => {
    const b = d.data;
    const shard = b[0]!;
    const n = b[1]! | (b[2]! << 8);
    for (let i = 3; i < b.length; i++) if (b[i] !== ((shard * 7 + n + i) & 0xff)) bad++;
    got.add(`${shard}:${n}`);
  };
  const per = 100;
  const sockets = group.hosts.map((h, shard) => h.stack.udp.open().bind(5000 + shard));
  // First one datagram each, so every shard knows the peer's MAC (no datagrams wait for ARP).
  sockets.forEach((s, shard) => s.send(new Uint8Array([shard, 0xff, 0xff]), 9, A));
  net.loop.runUntil({ done: () => got.size === 3, until: 5_000 });
  assert.equal(got.size, 3);
  got.clear();
  // Rounds of ten from each shard: their fragments interleave at the peer.
  let refused = 0;
  for (let r = 0; r < per / 10; r++) {
    sockets.forEach((s, shard) => {
      for (let n = r * 10; n < r * 10 + 10; n++) {
        const b = new Uint8Array(4000); // three fragments at MTU 1500
        b[0] = shard;
        b[1] = n & 0xff;
        b[2] = n >> 8;
        for (let i = 3; i < b.length; i++) b[i] = (shard * 7 + n + i) & 0xff;
        if (!s.send(b, 9, A)) refused++;
      }
    });
    net.loop.runUntil({ until: net.loop.clock.now() + 1 });
  }
  assert.equal(refused, 0, 'the sockets took every datagram');
  net.loop.runUntil({ done: () => got.size === 3 * per, until: 10_000 });
  assert.equal(bad, 0, 'no datagram made of another’s fragments');
  assert.equal(got.size, 3 * per, `every datagram arrived ${S}`);
  assert.equal(peer.stack.counters().ipv4.reasmFails, 0);
  net.close();
});

test('shards (one thread): fragmented datagrams meet on the shard of their 2-tuple and, reassembled, go on to the shard of their 4-tuple (forward twice)', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const peer = net.addHost();
  const shards = 4;
  const group = net.addShardedHost({ shards });
  const arrived: { shard: number; port: number; ok: boolean }[] = [];
  group.hosts.forEach((h, shard) => {
    h.stack.udp.open().bind(9).onMessage = (d) => {
      let ok = d.data.length === 4000;
      for (let i = 0; i < d.data.length && ok; i++) ok = d.data[i] === ((d.port + i) & 0xff);
      arrived.push({ shard, port: d.port, ok });
    };
  });
  const ports = Array.from({ length: 40 }, (_, i) => 20000 + i * 37);
  for (const port of ports) {
    const s = peer.stack.udp.open().bind(port);
    const b = new Uint8Array(4000);
    for (let i = 0; i < b.length; i++) b[i] = (port + i) & 0xff;
    s.send(b, 9, B);
    net.loop.runUntil({ until: net.loop.clock.now() + 5 });
  }
  net.loop.runUntil({ done: () => arrived.length === ports.length, until: 10_000 });
  assert.equal(arrived.length, ports.length, `every datagram delivered once ${S}`);
  for (const a of arrived) {
    assert.ok(a.ok, `datagram from port ${a.port} intact`);
    assert.equal(a.shard, group.steering.shardOfFlow(B, A, 9, a.port), `datagram from port ${a.port} on its 4-tuple's shard`);
  }
  const twice = group.queues.reduce((n, q) => n + q.counters.reassembledForwarded, 0);
  assert.ok(twice > 0, 'some went on after reassembly');
  assert.ok(new Set(arrived.map((a) => a.shard)).size > 1, 'the flows are spread');
  for (const h of group.hosts) assert.equal(h.stack.counters().icmp.outDestUnreachs, 0, 'no shard answered port unreachable');
  net.close();
});

test('shards (one thread): 4 shards on a 2-queue device — the others send through proxy queues; connections on every shard work, intact, pools balanced', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const client = net.addHost({ port: { faults: { loss: 0.005, delay: 1 } } });
  const group = net.addShardedHost({ shards: 4, device: { queues: 2 } });
  assert.equal(group.queues.length, 2);
  assert.equal(group.proxies.length, 2);
  const served = new Map<number, number>();
  group.hosts.forEach((h, shard) =>
    h.stack.tcp.listen(80).onConnection((c) => {
      served.set(c.remotePort, shard);
      c.onReadable = () => {
        for (let b = c.read(); b !== null; b = c.read()) c.write(b); // echo
      };
      c.onEnd = () => c.close();
    }),
  );
  const data = pattern(32 * 1024, SEED);
  const want = createHash('sha256').update(data).digest('hex');
  let finished = 0;
  const conns = 60;
  for (let i = 0; i < conns; i++) {
    const c = client.stack.tcp.connect({ dst: B, dstPort: 80 });
    const got: Uint8Array[] = [];
    c.onConnect = () => pump(c, data);
    c.onReadable = () => {
      for (let b = c.read(); b !== null; b = c.read()) got.push(b);
    };
    c.onEnd = () => {
      assert.equal(createHash('sha256').update(Buffer.concat(got)).digest('hex'), want, `echo intact ${S}`);
      c.close();
    };
    c.onClose = () => finished++;
  }
  net.loop.runUntil({ done: () => finished === conns, until: 60_000 });
  assert.equal(finished, conns, S);
  for (const [port, shard] of served) assert.equal(shard, group.steering.shardOfFlow(B, A, 80, port));
  for (const p of group.proxies) assert.ok(p.stats.txFrames > 0, `proxy shard ${p.id} sent through shard ${p.owner}`);
  assert.ok(group.queues.every((q) => q.counters.proxyDrops === 0));
  net.loop.runUntil({ until: net.loop.clock.now() + 300_000 });
  assert.equal(group.queues[0]!.rxPools[0]!.inUse, 0, 'pool balanced');
  for (const f of group.forwarders) assert.equal(f.counters.frames, f.counters.freed);
  net.close();
});

test('shards (one thread): a proxy at its limit holds the sender back (no loss), and goes on as its owner sends', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const client = net.addHost({ port: { faults: { rate: 50e6 } } }); // a slow link out to the client
  const group = net.addShardedHost({ shards: 2, device: { queues: 1 } });
  const proxy = group.proxies[0]!;
  const fwd = group.forwarders[1]!;
  const data = pattern(4 * 1024 * 1024, SEED);
  let got = 0;
  const digest = createHash('sha256');
  let ended = false;
  client.stack.tcp.listen(9).onConnection((c) => {
    c.onReadable = () => {
      for (let b = c.read(); b !== null; b = c.read()) {
        got += b.length;
        digest.update(b);
      }
    };
    c.onEnd = () => {
      ended = true;
      c.close();
    };
  });
  const c = group.hosts[1]!.stack.tcp.connect({ dst: A, dstPort: 9 });
  c.onConnect = () => pump(c, data);
  let maxOut = 0;
  while (!ended && net.loop.clock.now() < 120_000) {
    net.loop.runUntil({ until: net.loop.clock.now() + 1 });
    maxOut = Math.max(maxOut, fwd.inFlight[0]!);
  }
  assert.ok(ended, `the transfer finished ${S}`);
  assert.equal(got, data.length);
  assert.equal(digest.digest('hex'), createHash('sha256').update(data).digest('hex'));
  assert.ok(maxOut >= 100, `the proxy reached its limit (${maxOut} frames out)`);
  assert.ok(maxOut <= 128 + 64, `and stopped there (${maxOut}: 128 and at most the packet being sent)`);
  assert.equal(proxy.stats.txDrops, 0, 'nothing dropped: back pressure');
  assert.equal(group.queues[0]!.counters.proxyDrops, 0);
  net.close();
});

test('shards (one thread): one shard announces the shared address (one gratuitous ARP, not one per shard)', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(), switch: { seed: SEED } });
  net.loop.stop();
  const peer = net.addHost();
  net.loop.runUntil({ until: 100 });
  const before = peer.stack.counters().arp.rxRequests + peer.stack.counters().arp.rxReplies;
  net.addShardedHost({ shards: 4 });
  net.loop.runUntil({ until: 200 });
  const after = peer.stack.counters().arp.rxRequests + peer.stack.counters().arp.rxReplies;
  assert.equal(after - before, 1);
  net.close();
});
