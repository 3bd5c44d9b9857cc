/**
 * Bounded receive (Shoal only): a socket flooded faster than its application reads
 * keeps at most its receive buffer (SO_RCVBUF, as getRecvBufferSize() reports it) and
 * counts what it dropped, as Linux does (RcvbufErrors, the drops of /proc/net/udp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MemoryNetwork } from '../../src/api/network.js';
import { Dgram } from '../../src/api/dgram/index.js';

test('a flooded socket keeps at most its receive buffer, and counts what it dropped', async () => {
  const net = new MemoryNetwork();
  try {
    const a = net.addHost();
    const b = net.addHost();
    let received = 0;
    const receiver = new Dgram(b.stack).createSocket({ type: 'udp4', recvBufferSize: 1 }, () => received++);
    receiver.bind(0);
    await once(receiver, 'listening');
    const port = receiver.address().port;
    const limit = receiver.getRecvBufferSize();
    assert.equal(limit, 2304, "Linux's floor");
    // What the receive queue holds after every pass of the loop: it only grows inside a
    // pass (the application reads between passes), so this sees its largest size.
    let largest = 0;
    const row = () => b.stack.udp.table().find((r) => r.localPort === port)!;
    net.loop.add({ poll: () => ((largest = Math.max(largest, row().rxQueue)), 0), nextEventAt: () => Infinity });

    const sender = new Dgram(a.stack).createSocket('udp4');
    const total = 400;
    const payload = Buffer.alloc(500, 7);
    let sent = 0;
    for (let i = 0; i < total; i++) sender.send(payload, port, '10.0.0.2', (error) => (sent += error ? 0 : 1));
    const deadline = Date.now() + 5000;
    const c = () => b.stack.counters().udp;
    while (c().inDatagrams + c().rcvbufErrors < total || received < c().inDatagrams) {
      if (Date.now() > deadline) throw new Error(`flood not over: ${JSON.stringify(c())}, received ${received}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(sent, total);
    const dropped = row().drops;
    assert.ok(dropped > 0, 'the flood overflowed the queue');
    assert.ok(received > 0);
    assert.equal(received + dropped, total, 'every datagram was either received or counted as dropped');
    assert.equal(c().rcvbufErrors, dropped);
    assert.ok(largest > 0 && largest <= limit, `the queue held at most ${limit} bytes (largest ${largest})`);
    sender.close();
    receiver.close();
  } finally {
    net.close();
  }
});
