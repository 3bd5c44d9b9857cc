/**
 * Connection churn against the Linux kernel on a TAP: Shoal connects to a node:net server
 * in the namespace 30,000 times in a row, and the server closes first, so each
 * connection leaves a TIME_WAIT in the kernel. 30,000 is more than the 28,232 ephemeral
 * ports: ports move forward through the range (RFC 6056 Algorithm 4, with small random
 * steps), and 4-tuples come back while Linux still holds them in TIME_WAIT, where Linux
 * takes the new SYN only if its timestamp is newer
 * than the last one it saw (tcp_timewait_state_process; else it is dropped and the SYN
 * waits a 1 s timeout). No SYN may be sent twice, no connection refused or reset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireTap, SHOAL_IP, KERNEL_IP, withTapWorld } from './tap-netns.js';
import { peerReady } from './tap-peer.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { EPHEMERAL_HIGH, EPHEMERAL_LOW } from '../../src/stack/ports.js';

const CONNECTIONS = 30_000;
const PORT = 5400;

/** The kernel-side server: reads a request, answers and closes first (its FIN goes first: TIME_WAIT is the kernel's). */
const SERVER = `
const net = require('node:net');
let served = 0;
const server = net.createServer((s) => {
  s.once('data', () => { served++; s.end(Buffer.alloc(32, 2)); });
  s.on('error', () => {});
});
server.listen(Number(process.argv[1]), process.argv[2], () => console.log('READY'));
process.stdin.on('data', () => { console.log(JSON.stringify({ served })); process.exit(0); });
setTimeout(() => process.exit(3), 300000).unref();
`;

test(`tap: ${CONNECTIONS.toLocaleString('en')} sequential connections to a Linux server that closes first: no SYN sent twice, none refused`, { timeout: 300_000 }, async (t) => {
  if (!requireTap(t)) return;
  await withTapWorld({}, async (w) => {
    const server = w.spawn(process.execPath, ['-e', SERVER, String(PORT), KERNEL_IP]);
    await peerReady(server);
    const tcp = w.host!.stack.tcp;
    const dst = parseIpv4(KERNEL_IP);
    const request = new Uint8Array(32).fill(1);
    let done = 0;
    let failures = 0;
    const ports = new Set<number>();
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const next = (): void => {
        const c = tcp.connect({ dst, dstPort: PORT });
        ports.add(c.localPort);
        c.onConnect = () => c.write(request);
        c.onReadable = () => {
          while (c.read() !== null);
        };
        c.onEnd = () => c.close();
        c.onClose = (err) => {
          if (err) failures++;
          if (++done < CONNECTIONS) next();
          else resolve();
        };
      };
      next();
    });
    const seconds = (performance.now() - started) / 1000;
    server.stdin!.write('report\n');
    const served = await new Promise<number>((resolve) => server.stdout!.on('data', (d: Buffer) => {
      const line = d.toString().split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve((JSON.parse(line) as { served: number }).served);
    }));
    const c = tcp.counters;
    const tw = await w.exec('nstat', ['-az', 'TcpExtTW', 'TcpExtPAWSEstab', 'TcpActiveOpens', 'TcpPassiveOpens']).then((r) => r.stdout.replace(/\s+/g, ' ').trim(), () => 'nstat unavailable');
    console.log(
      `# tap churn: ${done} connections in ${seconds.toFixed(1)} s (${(done / seconds).toFixed(0)}/s), ${ports.size} ports, kernel served ${served}; ` +
        `SYN retransmits ${c.synRetransmits}, RTOs ${c.rtoTimeouts}, resets received ${c.resetsReceived}, connect failures ${c.connectFailures}; kernel: ${tw} (Shoal ${SHOAL_IP})`,
    );
    assert.equal(failures, 0);
    assert.equal(served, CONNECTIONS);
    assert.ok(ports.size < CONNECTIONS && ports.size > (EPHEMERAL_HIGH - EPHEMERAL_LOW + 1) / 2, `the range came round: ${ports.size} ports for ${CONNECTIONS} connections`);
    assert.equal(c.synRetransmits, 0, 'no SYN waited for a timeout');
    assert.equal(c.resetsReceived + c.connectFailures, 0);
  });
});
