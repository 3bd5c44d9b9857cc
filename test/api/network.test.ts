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
