import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../src/api/network.js';
import { formatIpv4 } from '../../src/wire/addr.js';

test('hosts on a memory network get 10.0.0.1, 10.0.0.2, … and talk TCP in real time', async () => {
  const net = new MemoryNetwork();
  try {
    const a = net.addHost();
    const b = net.addHost();
    assert.equal(formatIpv4(a.stack.address), '10.0.0.1');
    assert.equal(formatIpv4(b.stack.address), '10.0.0.2');
    b.stack.tcp.listen(7).onConnection((s) => {
      s.onReadable = () => {
        const d = s.read();
        if (d) s.write(d);
      };
    });
    const c = a.stack.tcp.connect({ dst: b.stack.address, dstPort: 7 });
    const echoed = await new Promise<string>((resolve, reject) => {
      c.onConnect = () => c.write(new TextEncoder().encode('hello'));
      c.onReadable = () => resolve(new TextDecoder().decode(c.read()!));
      c.onClose = (e) => reject(new Error(`closed: ${e?.code}`));
    });
    assert.equal(echoed, 'hello');
  } finally {
    net.close();
  }
});

test('a host offers the node:net and node:dgram APIs and zero-copy completion queues on its stack', async () => {
  const net = new MemoryNetwork();
  try {
    const a = net.addHost();
    const b = net.addHost();
    assert.equal(a.net, a.net, 'one Net per host');
    const server = b.net.createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => server.listen(7, resolve));
    const reply = await new Promise<string>((resolve, reject) => {
      const s = a.net.connect(7, '10.0.0.2', () => s.end('over net'));
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    assert.equal(reply, 'over net');
    const echo = b.dgram.createSocket('udp4');
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    await new Promise<void>((resolve) => echo.bind(9, resolve));
    const client = a.dgram.createSocket('udp4');
    const dgramReply = await new Promise<string>((resolve) => {
      client.on('message', (m) => resolve(m.toString()));
      client.send('over dgram', 9, '10.0.0.2');
    });
    assert.equal(dgramReply, 'over dgram');
    client.close();
    echo.close();
    server.close();
    // A zero-copy completion queue on the host's stack: accept, data, and the reply.
    const cq = b.completions();
    cq.listen(8);
    cq.onReady = () => {
      for (let n = cq.poll(16); n > 0; n = cq.poll(16)) {
        for (let i = 0; i < n; i++) {
          const c = cq.completions[i]!;
          if (c.kind !== 'data') continue;
          const p = c.data!;
          for (let f = 0; f < p.fragmentCount; f++) c.socket.write(p.bufs[f]!, p.offs[f]!, p.lens[f]!);
          cq.release(p);
          c.socket.end();
        }
      }
    };
    const zcReply = await new Promise<string>((resolve, reject) => {
      const s = a.net.connect(8, '10.0.0.2', () => s.end('over zero-copy'));
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    assert.equal(zcReply, 'over zero-copy');
  } finally {
    net.close();
  }
});
