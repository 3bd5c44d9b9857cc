/**
 * Broadcast on a memory network (Shoal only). node:dgram cannot show this on 127.0.0.1
 * (the loopback device has no broadcast), so the expectations are what Linux does on a
 * real interface: sending to 255.255.255.255 (RFC 919) or to the subnet's broadcast
 * address without SO_BROADCAST fails with EACCES (udp_sendmsg; connect too, in
 * ip4_datagram_connect); with it, every socket bound to the port on every host of the
 * link gets the datagram, the sender's own host included (Linux loops broadcasts back),
 * except a socket bound to a unicast address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MemoryNetwork } from '../../src/api/network.js';
import { Dgram, type Socket } from '../../src/api/dgram/index.js';

const PORT = 5555;

function sendAndWait(s: Socket, msg: string, port: number, address: string): Promise<[Error | null, number | undefined]> {
  return new Promise((resolve) => s.send(msg, port, address, (error, bytes) => resolve([error, bytes])));
}

async function bound(s: Socket, port: number, address?: string): Promise<Socket> {
  s.bind(port, address);
  await once(s, 'listening');
  return s;
}

async function until(done: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('broadcast: EACCES without setBroadcast(true); with it every host bound to the port hears it', async () => {
  const net = new MemoryNetwork();
  try {
    const dgrams = [0, 1, 2, 3].map(() => new Dgram(net.addHost().stack));
    const heard: string[] = [];
    const listen = async (name: string, d: Dgram, address?: string, reuseAddr = false) => {
      const s = d.createSocket({ type: 'udp4', reuseAddr }, (msg, rinfo) => heard.push(`${name}: ${msg} from ${rinfo.address}:${rinfo.port === sender.address().port ? 'sender' : rinfo.port}`));
      return bound(s, PORT, address);
    };
    const sender = await bound(dgrams[0]!.createSocket('udp4'), 0);
    const listeners = [
      await listen('host1', dgrams[1]!),
      await listen('host2', dgrams[2]!, '0.0.0.0', true),
      await listen('host2 again (reuseAddr)', dgrams[2]!, '0.0.0.0', true),
      await listen('host3 on its unicast address', dgrams[3]!, '10.0.0.4'),
      await listen('the sender\'s host', dgrams[0]!),
    ];
    const other = await bound(dgrams[1]!.createSocket('udp4', () => heard.push('another port')), PORT + 1);

    for (const to of ['255.255.255.255', '10.0.0.255']) {
      const [error] = await sendAndWait(sender, 'denied', PORT, to);
      assert.equal((error as NodeJS.ErrnoException | null)?.code, 'EACCES');
      assert.equal(error?.message, `send EACCES ${to}:${PORT}`);
    }
    const connecting = dgrams[0]!.createSocket('udp4');
    const connectError = await new Promise<Error | undefined>((resolve) => connecting.connect(PORT, '255.255.255.255', resolve));
    assert.equal((connectError as NodeJS.ErrnoException | undefined)?.code, 'EACCES');
    assert.equal(connectError?.message, `connect EACCES 255.255.255.255:${PORT}`);

    sender.setBroadcast(true);
    assert.deepEqual(await sendAndWait(sender, 'to all', PORT, '255.255.255.255'), [null, 6]);
    assert.deepEqual(await sendAndWait(sender, 'to the subnet', PORT, '10.0.0.255'), [null, 13]);
    const expected = ['host1', 'host2', 'host2 again (reuseAddr)', "the sender's host"].flatMap((h) => [`${h}: to all from 10.0.0.1:sender`, `${h}: to the subnet from 10.0.0.1:sender`]);
    await until(() => heard.length >= expected.length, `${expected.length} deliveries, got ${heard.join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(heard.sort(), expected.sort());

    sender.setBroadcast(false);
    const [again] = await sendAndWait(sender, 'denied again', PORT, '255.255.255.255');
    assert.equal((again as NodeJS.ErrnoException | null)?.code, 'EACCES');
    for (const s of [sender, connecting, other, ...listeners]) s.close();
  } finally {
    net.close();
  }
});
