import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLoop } from '../../src/time/loop.js';
import { VirtualClock } from '../../src/time/clock.js';
import { Packet } from '../../src/packet/packet.js';
import { readU16, readU32 } from '../../src/wire/addr.js';
import { ToeplitzHasher } from '../../src/wire/toeplitz.js';
import { queueForHash } from '../../src/link/device.js';
import { MemoryDevice, MemoryWire } from '../../src/link/memory/index.js';
import { Random } from '../../src/util/random.js';
import { MAC_A, MAC_B, Sink, Source, rawFrame, tcpFrame, udpFrame } from './memory-frames.js';

test('memory RSS: frames of many 4-tuples land on the queue queueForHash(toeplitz) names, with rssHash set', () => {
  const seed = 20260101;
  const rng = new Random(seed);
  const a = new MemoryDevice({ mac: MAC_A });
  const b = new MemoryDevice({ mac: MAC_B, queues: 4, lro: false });
  const wire = new MemoryWire(a, b);
  const loop = new EventLoop(new VirtualClock());
  for (const p of wire.pollables()) loop.add(p);
  const sink = new Sink(b.queues);
  const src = new Source(a.queues[0]);
  const hasher = new ToeplitzHasher();
  const n = 400;
  for (let i = 0; i < n; i++) {
    const s = { src: rng.nextU32(), dst: rng.nextU32(), sport: 1 + rng.int(65535), dport: 1 + rng.int(65535) };
    src.push(Packet.wrap(i % 2 === 0 ? tcpFrame(s) : udpFrame(s)));
  }
  loop.runUntil();
  assert.equal(sink.got.length, n, `seed ${seed}`);
  const perQueue = [0, 0, 0, 0];
  for (const r of sink.got) {
    const h = hasher.hashIpv4Ports(readU32(r.bytes, 26), readU32(r.bytes, 30), readU16(r.bytes, 34), readU16(r.bytes, 36));
    assert.equal(r.rssHash, h, `seed ${seed}`);
    assert.equal(r.queue, queueForHash(b.features, h), `seed ${seed}`);
    perQueue[r.queue]!++;
  }
  assert.ok(perQueue.every((c) => c > n / 8), `spread over all queues: ${perQueue} (seed ${seed})`);
  for (let q = 0; q < 4; q++) assert.equal(b.queues[q]!.stats.rxFrames, perQueue[q]);
});

test('memory RSS: fragments use the 2-tuple, non-IP frames go to queue 0 without a hash', () => {
  const a = new MemoryDevice({ mac: MAC_A });
  const b = new MemoryDevice({ mac: MAC_B, queues: 4 });
  const wire = new MemoryWire(a, b);
  const loop = new EventLoop(new VirtualClock());
  for (const p of wire.pollables()) loop.add(p);
  const sink = new Sink(b.queues);
  const hasher = new ToeplitzHasher();
  const ips = { src: 0xc0a80001, dst: 0xc0a80063 };
  new Source(a.queues[0]).push(
    Packet.wrap(udpFrame({ ...ips, mf: true, csum: 'none' })),
    Packet.wrap(udpFrame({ ...ips, fragOffset: 185, csum: 'none' })),
    Packet.wrap(rawFrame(MAC_B, MAC_A)),
  );
  loop.runUntil();
  assert.equal(sink.got.length, 3);
  const h2 = hasher.hashIpv4(ips.src, ips.dst);
  const frags = sink.got.filter((r) => r.bytes[13] === 0x00);
  assert.equal(frags.length, 2);
  for (const r of frags) {
    assert.equal(r.rssHash, h2);
    assert.equal(r.queue, queueForHash(b.features, h2));
    assert.equal(r.csumVerified, false, 'a fragment has no L4 checksum to verify');
  }
  const raw = sink.got.find((r) => r.bytes[13] === 0xb5)!;
  assert.equal(raw.rssHash, -1);
  assert.equal(raw.queue, 0);
});
