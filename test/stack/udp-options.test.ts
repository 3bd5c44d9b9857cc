/** UDP socket options: SO_BROADCAST, IP_TTL, SO_RCVBUF / SO_SNDBUF (bounded queues), gathered sends. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, IP_B } from './net.js';
import { IPV4_BROADCAST, parseIpv4 } from '../../src/wire/addr.js';
import { IPPROTO_UDP } from '../../src/wire/ipv4.js';
import { DATAGRAM_OVERHEAD } from '../../src/stack/udp-queue.js';
import type { Datagram } from '../../src/stack/udp.js';

const SUBNET_BROADCAST = parseIpv4('10.0.0.255');

test('broadcast needs SO_BROADCAST (EACCES, as Linux); then every matching socket hears it, the sender\'s host too', () => {
  const n = twoStacks();
  n.run(undefined, 10);
  const heard: string[] = [];
  const listen = (name: string, s: ReturnType<typeof n.a.udp.open>) => (s.onMessage = (d) => heard.push(`${name} ${d.data.length}`));
  listen('b1', n.b.udp.open({ reuseAddr: true }).bind(67));
  listen('b2', n.b.udp.open({ reuseAddr: true }).bind(67));
  listen('b-unicast-only', n.b.udp.open({ reuseAddr: true }).bind(67, IP_B));
  listen('a-self', n.a.udp.open().bind(67));
  const s = n.a.udp.open().bind(68);
  for (const dst of [IPV4_BROADCAST, SUBNET_BROADCAST]) {
    assert.throws(() => s.send(new Uint8Array(3), 67, dst), { code: 'EACCES' });
    assert.throws(() => n.a.udp.open().connect(dst, 67), { code: 'EACCES' });
  }
  s.broadcast = true;
  assert.ok(s.send(new Uint8Array(3), 67, IPV4_BROADCAST));
  assert.ok(s.send(new Uint8Array(4), 67, SUBNET_BROADCAST));
  assert.ok(s.send(new Uint8Array(5), 99, IPV4_BROADCAST), 'nobody listens on 99');
  n.run(undefined, 10);
  // Newest first on a port: b2 was bound after b1.
  assert.deepEqual(heard.sort(), ['a-self 3', 'a-self 4', 'b1 3', 'b1 4', 'b2 3', 'b2 4']);
  assert.equal(n.b.icmp.counters.outDestUnreachs, 0, 'no ICMP error about a broadcast');
  assert.equal(n.b.udp.counters.noPorts, 1);
});

test('IP_TTL: what a socket sends carries its TTL; the default is the stack\'s (64)', () => {
  const n = twoStacks();
  const ttls: number[] = [];
  n.b.ipv4.addFilter((_p, h) => (h.protocol === IPPROTO_UDP && ttls.push(h.ttl), false));
  n.b.udp.open().bind(9);
  const s = n.a.udp.open();
  s.send(new Uint8Array(1), 9, IP_B);
  s.ttl = 7;
  s.send(new Uint8Array(1), 9, IP_B);
  n.run(undefined, 10);
  assert.deepEqual(ttls, [64, 7]);
  assert.throws(() => (s.ttl = 256), { code: 'EINVAL' });
});

test('a gathered send is one datagram, copied: small (in the frame), large (fragmented), too large (EMSGSIZE)', () => {
  const n = twoStacks();
  const got: Datagram[] = [];
  n.b.udp.open().bind(9).onMessage = (d) => got.push(d);
  const s = n.a.udp.open();
  const parts = [Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)];
  s.send(parts, 9, IP_B);
  parts[0]![0] = 99;
  const big = [new Uint8Array(30_000).fill(7), new Uint8Array(30_000).fill(8)];
  s.send(big, 9, IP_B);
  big[1]!.fill(0);
  assert.throws(() => s.send([new Uint8Array(40_000), new Uint8Array(25_508)], 9, IP_B), { code: 'EMSGSIZE' });
  s.send([], 9, IP_B);
  n.run(undefined, 100);
  assert.equal(got.length, 3);
  assert.deepEqual(got[0]!.data, Uint8Array.of(1, 2, 3));
  assert.equal(got[1]!.data.length, 60_000);
  assert.ok(got[1]!.data.subarray(0, 30_000).every((x) => x === 7) && got[1]!.data.subarray(30_000).every((x) => x === 8));
  assert.equal(got[2]!.data.length, 0);
  assert.ok(n.b.ipv4.counters.reasmOks >= 1);
});

test('SO_RCVBUF / SO_SNDBUF follow Linux: capped at the maximum, doubled, with a floor', () => {
  const n = twoStacks();
  const s = n.a.udp.open();
  assert.deepEqual([s.receiveBufferSize, s.sendBufferSize], [212_992, 212_992]);
  s.setReceiveBufferSize(100_000);
  s.setSendBufferSize(100_000);
  assert.deepEqual([s.receiveBufferSize, s.sendBufferSize], [200_000, 200_000]);
  s.setReceiveBufferSize(1e9);
  assert.equal(s.receiveBufferSize, 425_984);
  s.setReceiveBufferSize(1);
  s.setSendBufferSize(1);
  assert.deepEqual([s.receiveBufferSize, s.sendBufferSize], [2304, 4608]);
});

test('a flooded socket holds at most its receive buffer, drops and counts the rest, and takes more once read', () => {
  const n = twoStacks();
  const r = n.b.udp.open().bind(9);
  r.setReceiveBufferSize(1); // 2304 bytes
  let readable = 0;
  r.onReadable = () => readable++;
  const s = n.a.udp.open();
  for (let i = 0; i < 100; i++) s.send(new Uint8Array(100).fill(i), 9, IP_B);
  n.run(undefined, 100);
  const fits = Math.floor(2304 / (100 + DATAGRAM_OVERHEAD));
  assert.equal(r.queued, fits);
  assert.ok(r.queuedBytes <= r.receiveBufferSize);
  assert.equal(r.drops, 100 - fits);
  assert.equal(n.b.udp.counters.rcvbufErrors, 100 - fits);
  assert.equal(n.b.udp.counters.inDatagrams, fits);
  assert.equal(readable, 1, 'one wake-up when the queue stopped being empty');
  const first = r.receive()!;
  assert.equal(first.data[0], 0, 'the oldest are kept, the newest dropped');
  while (r.receive() !== null);
  assert.equal(r.queuedBytes, 0);
  // An empty queue takes one datagram larger than the buffer (or it could never get one), then nothing.
  s.send(new Uint8Array(5000), 9, IP_B);
  s.send(new Uint8Array(1), 9, IP_B);
  n.run(undefined, 100);
  assert.equal(r.queued, 1);
  assert.equal(r.receive()!.data.length, 5000);
  assert.equal(r.drops, 100 - fits + 1);
});

test('a socket may queue sends while below its send buffer (ENOBUFS past it, counted); room comes back as datagrams leave', () => {
  const n = twoStacks();
  n.b.udp.open().bind(9);
  const s = n.a.udp.open();
  s.setSendBufferSize(1); // 4608 bytes
  const sent: boolean[] = [];
  for (let i = 0; i < 6; i++) sent.push(s.send(new Uint8Array(1000), 9, IP_B));
  assert.deepEqual(sent, [true, true, true, true, true, false]);
  assert.equal(n.a.udp.counters.sndbufErrors, 1);
  assert.equal(s.sendQueuedCount, 5);
  n.run(undefined, 10);
  assert.equal(s.sendQueuedBytes, 0);
  assert.ok(s.send(new Uint8Array(60_000), 9, IP_B), 'one datagram of any size goes when nothing is queued');
  assert.equal(s.send(new Uint8Array(1), 9, IP_B), false);
  n.run(undefined, 100);
  assert.equal(n.b.udp.counters.inDatagrams, 6);
  assert.equal(n.a.udp.counters.outDatagrams, 6);
});
