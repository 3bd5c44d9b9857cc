/**
 * What the compatibility suite cannot compare with node:dgram on 127.0.0.1 (Shoal
 * only): a host's other addresses, errors a loopback never gives (no route, a full
 * send buffer), names without a resolver, the TTL on the wire, and that a send wakes
 * the host's loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MemoryNetwork } from '../../src/api/network.js';
import { Dgram, type Socket } from '../../src/api/dgram/index.js';
import { IPPROTO_UDP } from '../../src/wire/ipv4.js';

type Result = [NodeJS.ErrnoException | null, number | undefined];

function sendAndWait(s: Socket, msg: string | Buffer, port: number, address: string): Promise<Result> {
  return new Promise((resolve) => s.send(msg, port, address, (error, bytes) => resolve([error as NodeJS.ErrnoException | null, bytes])));
}

async function bound(s: Socket, port = 0): Promise<Socket> {
  s.bind(port);
  await once(s, 'listening');
  return s;
}

function withNetwork(name: string, body: (net: MemoryNetwork, a: Dgram, b: Dgram) => Promise<void>): void {
  test(name, async () => {
    const net = new MemoryNetwork();
    try {
      await body(net, new Dgram(net.addHost().stack), new Dgram(net.addHost().stack));
    } finally {
      net.close();
    }
  });
}

withNetwork('only udp4: a udp6 or unknown type is ERR_SOCKET_BAD_TYPE', async (_net, a) => {
  for (const type of ['udp6', 'tcp', { type: 'udp6' }]) assert.throws(() => a.createSocket(type as 'udp4'), { code: 'ERR_SOCKET_BAD_TYPE', name: 'TypeError' });
});

withNetwork('a host reaches its own sockets by its address and by 127.0.0.1, off the link', async (net, a) => {
  const got: string[] = [];
  const r = await bound(a.createSocket('udp4', (msg, rinfo) => got.push(`${msg} from ${rinfo.address}`)));
  const s = a.createSocket('udp4');
  await new Promise((res) => setTimeout(res, 50)); // the hosts' gratuitous ARPs are through
  const framesBefore = net.switch.counters.forwarded + net.switch.counters.flooded;
  assert.deepEqual(await sendAndWait(s, 'mine', r.address().port, '10.0.0.1'), [null, 4]);
  assert.deepEqual(await sendAndWait(s, 'lo', r.address().port, 'localhost'), [null, 2]);
  while (got.length < 2) await new Promise((res) => setTimeout(res, 2));
  assert.deepEqual(got, ['mine from 10.0.0.1', 'lo from 127.0.0.1']);
  assert.equal(net.switch.counters.forwarded + net.switch.counters.flooded, framesBefore);
});

withNetwork('errors a loopback never gives: ENETUNREACH without a route, ENOBUFS past the send buffer, ENOTFOUND for a name', async (_net, a, b) => {
  const s = a.createSocket({ type: 'udp4', sendBufferSize: 1 });
  const [unreachable] = await sendAndWait(s, 'x', 9, '192.0.2.1');
  assert.equal(unreachable?.code, 'ENETUNREACH');
  assert.equal(unreachable?.message, 'send ENETUNREACH 192.0.2.1:9');
  const connectError = await new Promise<Error | undefined>((resolve) => a.createSocket('udp4').connect(9, '192.0.2.1', resolve));
  assert.equal(connectError?.message, 'connect ENETUNREACH 192.0.2.1:9');
  const [notFound] = await sendAndWait(s, 'x', 9, 'no.such.host');
  assert.deepEqual([notFound?.code, notFound?.errno, notFound?.syscall, notFound?.message], ['ENOTFOUND', -3008, 'getaddrinfo', 'getaddrinfo ENOTFOUND no.such.host']);

  const r = await bound(b.createSocket('udp4'));
  assert.equal(s.getSendBufferSize(), 4608);
  // 4608 bytes of send buffer: five 1000-byte datagrams are queued, the sixth is refused.
  const results = await Promise.all(Array.from({ length: 6 }, () => sendAndWait(s, Buffer.alloc(1000), r.address().port, '10.0.0.2')));
  assert.deepEqual(results.slice(0, 5), Array(5).fill([null, 1000]));
  assert.equal(results[5]![0]?.code, 'ENOBUFS');
  assert.equal(results[5]![0]?.message, `send ENOBUFS 10.0.0.2:${r.address().port}`);
});

withNetwork('the send queue is visible until the loop takes the datagrams', async (_net, a, b) => {
  const r = await bound(b.createSocket('udp4'));
  const s = await bound(a.createSocket('udp4'));
  s.send(Buffer.alloc(100), r.address().port, '10.0.0.2');
  s.send(Buffer.alloc(200), r.address().port, '10.0.0.2');
  await new Promise((res) => process.nextTick(res));
  await new Promise((res) => process.nextTick(res));
  assert.deepEqual([s.getSendQueueCount(), s.getSendQueueSize()], [2, 300]);
  await once(r, 'message');
  assert.deepEqual([s.getSendQueueCount(), s.getSendQueueSize()], [0, 0]);
});

withNetwork('setTTL() reaches the wire', async (net, a, b) => {
  const ttls: number[] = [];
  net.hosts[1]!.stack.ipv4.addFilter((_p, h) => (h.protocol === IPPROTO_UDP && ttls.push(h.ttl), false));
  const r = await bound(b.createSocket('udp4'));
  const s = await bound(a.createSocket('udp4'));
  s.setTTL(9);
  await sendAndWait(s, 'x', r.address().port, '10.0.0.2');
  await once(r, 'message');
  assert.deepEqual(ttls, [9]);
});

withNetwork('a send wakes a host loop that sleeps', async (net, a, b) => {
  const r = await bound(b.createSocket('udp4'));
  const s = await bound(a.createSocket('udp4'));
  await sendAndWait(s, 'first', r.address().port, '10.0.0.2');
  await once(r, 'message');
  // Idle now: the loop sleeps until its next timer (ARP aging, seconds away) or a wake.
  await new Promise((res) => setTimeout(res, 100));
  assert.ok(net.loop.nextEventAt() - net.loop.clock.now() > 1000, 'nothing due soon');
  const t0 = Date.now();
  s.send('second', r.address().port, '10.0.0.2');
  const [msg] = (await once(r, 'message')) as [Buffer];
  assert.equal(String(msg), 'second');
  assert.ok(Date.now() - t0 < 1000, 'delivered without waiting for a timer');
});
