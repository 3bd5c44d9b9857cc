/** UDP sockets of one stack: who may share a port, who gets a datagram, connect and disconnect (Linux's rules). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, IP_A, IP_B } from './net.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import type { UdpSocket } from '../../src/stack/udp.js';

const LOOPBACK = parseIpv4('127.0.0.1');

function collect(s: UdpSocket): string[] {
  const got: string[] = [];
  s.onMessage = (d) => got.push(new TextDecoder().decode(d.data));
  return got;
}

test('binding: overlapping addresses conflict unless both sockets set SO_REUSEADDR; only our addresses may be bound', () => {
  const n = twoStacks();
  const udp = n.a.udp;
  udp.open().bind(5000);
  assert.throws(() => udp.open().bind(5000), { code: 'EADDRINUSE' });
  assert.throws(() => udp.open().bind(5000, IP_A), { code: 'EADDRINUSE' }, 'any overlaps a specific address');
  // Two specific addresses do not overlap.
  udp.open().bind(5001, IP_A);
  udp.open().bind(5001, LOOPBACK);
  assert.throws(() => udp.open().bind(5001), { code: 'EADDRINUSE' });
  // SO_REUSEADDR counts only when both set it.
  udp.open({ reuseAddr: true }).bind(5002);
  assert.throws(() => udp.open().bind(5002), { code: 'EADDRINUSE' });
  udp.open({ reuseAddr: true }).bind(5002);
  const plain = udp.open().bind(5003);
  assert.throws(() => udp.open({ reuseAddr: true }).bind(5003), { code: 'EADDRINUSE' });
  // Closing lets the port go.
  plain.close();
  udp.open().bind(5003);
  assert.throws(() => udp.open().bind(5004, parseIpv4('10.9.9.9')), { code: 'EADDRNOTAVAIL' });
  for (const ok of ['0.0.0.0', '10.0.0.1', '127.0.0.5', '255.255.255.255', '10.0.0.255']) udp.open().bind(0, parseIpv4(ok));
});

test('delivery: a bound address beats any, a connected peer beats both, the newest wins a tie', () => {
  const n = twoStacks();
  const b = n.b.udp;
  const older = collect(b.open({ reuseAddr: true }).bind(7000));
  const newer = collect(b.open({ reuseAddr: true }).bind(7000));
  const a1 = n.a.udp.open().bind(4001);
  const a2 = n.a.udp.open().bind(4002);
  a1.send(new TextEncoder().encode('tie'), 7000, IP_B);
  n.run(undefined, 10);
  assert.deepEqual([older, newer], [[], ['tie']]);
  const specific = collect(b.open({ reuseAddr: true }).bind(7000, IP_B));
  const connected = collect(b.open({ reuseAddr: true }).bind(7000).connect(IP_A, 4002));
  a1.send(new TextEncoder().encode('from 4001'), 7000, IP_B);
  a2.send(new TextEncoder().encode('from 4002'), 7000, IP_B);
  n.run(undefined, 10);
  assert.deepEqual(specific, ['from 4001']);
  assert.deepEqual(connected, ['from 4002']);
  assert.deepEqual([older, newer], [[], ['tie']]);
});

test('connect takes the route source as local address; disconnect gives back what bind did not name', () => {
  const n = twoStacks();
  const implicit = n.a.udp.open().connect(IP_B, 9);
  assert.equal(implicit.localAddress, IP_A);
  assert.ok(implicit.localPort >= 32768);
  implicit.disconnect();
  assert.deepEqual([implicit.localAddress, implicit.localPort, implicit.remotePort], [0, 0, 0], 'the ephemeral port is let go');
  implicit.send(new Uint8Array(1), 9, IP_B);
  assert.ok(implicit.localPort >= 32768, 'the next send binds a new one');
  const named = n.a.udp.open().bind(6000).connect(LOOPBACK, 9);
  assert.equal(named.localAddress, LOOPBACK, 'to this host the source is loopback');
  named.disconnect();
  assert.deepEqual([named.localAddress, named.localPort], [0, 6000]);
  const bound = n.a.udp.open().bind(6001, IP_A).connect(IP_B, 9);
  bound.disconnect();
  assert.deepEqual([bound.localAddress, bound.localPort], [IP_A, 6001]);
});

test('sends that Linux refuses: no route, a loopback source going out, too big, no destination', () => {
  const n = twoStacks();
  const s = n.a.udp.open();
  assert.throws(() => s.send(new Uint8Array(1), 9, parseIpv4('192.0.2.1')), { code: 'ENETUNREACH' });
  assert.throws(() => s.connect(parseIpv4('192.0.2.1'), 9), { code: 'ENETUNREACH' });
  assert.throws(() => n.a.udp.open().bind(0, IP_A).send(new Uint8Array(1), 9, parseIpv4('192.0.2.1')), { code: 'ENETUNREACH' }, 'a bound address is no route');
  assert.throws(() => s.send(new Uint8Array(65_508), 9, IP_B), { code: 'EMSGSIZE' });
  assert.throws(() => s.send(new Uint8Array(1)), { code: 'EDESTADDRREQ' });
  const lo = n.a.udp.open().bind(0, LOOPBACK);
  assert.throws(() => lo.send(new Uint8Array(1), 9, IP_B), { code: 'EINVAL' });
  s.close();
  assert.throws(() => s.send(new Uint8Array(1), 9, IP_B), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
});

test('datagrams to this host (our address, 127/8, 0.0.0.0) are delivered at the next pass, never on the link', () => {
  const n = twoStacks();
  n.run(undefined, 10);
  const txBefore = n.devA.queues[0]!.stats.txFrames;
  const any = n.a.udp.open().bind(8000);
  const got: string[] = [];
  any.onMessage = (d) => got.push(`${new TextDecoder().decode(d.data)} from ${d.address === IP_A ? 'A' : d.address === LOOPBACK ? 'lo' : d.address}:${d.port}`);
  const onlyLoopback = collect(n.a.udp.open().bind(8001, LOOPBACK));
  const sender = n.a.udp.open().bind(4000);
  sender.send(new TextEncoder().encode('to us'), 8000, IP_A);
  sender.send(new TextEncoder().encode('to lo'), 8000, parseIpv4('127.0.0.9'));
  sender.send(new TextEncoder().encode('to any'), 8000, 0);
  sender.send(new TextEncoder().encode('not for lo'), 8001, IP_A);
  sender.send(new TextEncoder().encode('for lo'), 8001, LOOPBACK);
  assert.deepEqual(got, [], 'nothing inside send()');
  n.run(undefined, 10);
  assert.deepEqual(got, ['to us from A:4000', 'to lo from lo:4000', 'to any from lo:4000']);
  assert.deepEqual(onlyLoopback, ['for lo']);
  assert.equal(n.devA.queues[0]!.stats.txFrames, txBefore, 'nothing went on the link');
  assert.equal(n.a.udp.counters.noPorts, 1);
});

test('port unreachable is reported to a connected socket only (ECONNREFUSED), over the link and over loopback', () => {
  const n = twoStacks();
  n.run(undefined, 10);
  const connected = n.a.udp.open().connect(IP_B, 9999);
  let readable = 0;
  connected.onReadable = () => readable++;
  const loose = n.a.udp.open().bind(4000);
  let looseReadable = 0;
  loose.onReadable = () => looseReadable++;
  connected.send(new Uint8Array(1));
  loose.send(new Uint8Array(1), 9999, IP_B);
  n.run(undefined, 10);
  assert.equal(n.a.icmp.counters.inDestUnreachs, 2);
  assert.equal(readable, 1);
  assert.equal(connected.takeError(), 'ECONNREFUSED');
  assert.equal(connected.takeError(), null, 'reading the error clears it');
  assert.equal(looseReadable, 0);
  const local = n.a.udp.open().connect(LOOPBACK, 9999);
  local.send(new Uint8Array(1));
  n.run(undefined, 10);
  assert.equal(local.takeError(), 'ECONNREFUSED');
});

test('the socket table lists bound sockets with their queues and drops, as /proc/net/udp', () => {
  const n = twoStacks();
  const r = n.b.udp.open().bind(9);
  r.setReceiveBufferSize(1);
  const s = n.a.udp.open().bind(4000);
  s.setSendBufferSize(1);
  for (let i = 0; i < 50; i++) s.send(new Uint8Array(100), 9, IP_B); // 47 fit under 4608 bytes
  assert.deepEqual(n.a.udp.table(), [{ localAddress: 0, localPort: 4000, remoteAddress: 0, remotePort: 0, txQueue: 4700, rxQueue: 0, drops: 0 }]);
  n.run(undefined, 10);
  const [row] = n.b.udp.table();
  assert.equal(row!.rxQueue, r.queuedBytes);
  assert.equal(row!.drops, 47 - r.queued);
  r.close();
  assert.deepEqual(n.b.udp.table(), []);
});

test('two sockets of one host answering each other over loopback do not hold the loop', () => {
  const n = twoStacks();
  const ping = n.a.udp.open().bind(7001);
  const pong = n.a.udp.open().bind(7002);
  let exchanges = 0;
  pong.onMessage = (d) => pong.send(d.data, d.port, d.address);
  ping.onMessage = (d) => {
    exchanges++;
    ping.send(d.data, d.port, d.address);
  };
  ping.send(new Uint8Array(1), 7002, LOOPBACK);
  n.run(undefined, 1);
  // Each delivery waits a microsecond of loop time: a millisecond holds about 500 round trips.
  assert.ok(exchanges > 100 && exchanges <= 500, `${exchanges} exchanges`);
});

test('bind(0) picks ephemeral ports at random (RFC 6056 §3.2: the next one cannot be guessed from the last), and a TCP connect in order per destination', () => {
  const n = twoStacks();
  const ports: number[] = [];
  for (let i = 0; i < 200; i++) ports.push(n.a.udp.open().bind(0).localPort);
  let sequential = 0;
  for (let i = 1; i < ports.length; i++) if (ports[i] === ports[i - 1]! + 1) sequential++;
  assert.ok(sequential < 5, `${sequential} of 199 UDP ports were the last one plus one`);
  assert.ok(ports.every((p) => p >= 32768 && p <= 60999));
  assert.equal(new Set(ports).size, ports.length, 'each bound port is in use: never handed out twice');
  // Towards one destination, TCP's ports move forward by small steps (Algorithm 4).
  const tcpPorts: number[] = [];
  for (let i = 0; i < 50; i++) tcpPorts.push(n.a.tcp.connect({ dst: IP_B, dstPort: 80 }).localPort);
  for (let i = 1; i < tcpPorts.length; i++) {
    const step = (tcpPorts[i]! - tcpPorts[i - 1]! + 28232) % 28232;
    assert.ok(step >= 1 && step <= 4, `TCP port ${tcpPorts[i]} after ${tcpPorts[i - 1]}`);
  }
});

test('with every ephemeral port in use, a connect fails at once with EADDRNOTAVAIL (as Linux) and one that frees a port lets the next through', () => {
  const n = twoStacks();
  const RANGE = 60999 - 32768 + 1;
  // Connections to a host that does not answer: each holds its port in SYN_SENT.
  const far = parseIpv4('10.0.0.99');
  const held = [];
  for (let i = 0; i < RANGE; i++) held.push(n.a.tcp.connect({ dst: far, dstPort: 9 }));
  assert.equal(new Set(held.map((c) => c.localPort)).size, RANGE, 'every port handed out once');
  let error: string | undefined;
  const c = n.a.tcp.connect({ dst: far, dstPort: 9 });
  c.onClose = (e) => (error = e?.code);
  n.run(undefined, 1);
  assert.equal(error, 'EADDRNOTAVAIL');
  held[0]!.abort();
  const again = n.a.tcp.connect({ dst: far, dstPort: 9 });
  assert.equal(again.localPort, held[0]!.localPort, 'the freed port is the one left');
  for (const h of held) h.abort();
  again.abort();
});
