/**
 * TCP over the memory link, through the full stack (Ethernet, ARP, IPv4) with the
 * link's own fault injection and emulated offloads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoStacks, IP_B, type TwoStacksOptions } from './net.js';
import { patternBytes, sha256, pump, drain } from './tcp-harness.js';
import { Tcp } from '../../src/stack/tcp/index.js';
import type { Stack } from '../../src/stack/stack.js';
import { seedFromEnv } from '../../src/util/random.js';

const SEED = seedFromEnv();
const S = `(SHOAL_SEED=${SEED})`;
const MB = Number(process.env['SHOAL_TCP_BULK_MB'] ?? 4);
const N = Math.round(MB * (1 << 20));

/** The stack's Tcp (once the stack has one), else one registered here. */
function tcpOf(s: Stack): Tcp {
  const own = (s as unknown as { tcp?: Tcp }).tcp;
  if (own) return own;
  const t = new Tcp(s.env);
  s.ipv4.register(t);
  (s as unknown as { tcp?: Tcp }).tcp = t;
  return t;
}

function linkBulk(name: string, o: TwoStacksOptions, n = N): void {
  const net = twoStacks({ seed: SEED, ...o });
  const ta = tcpOf(net.a);
  const tb = tcpOf(net.b);
  const up = patternBytes(n, SEED ^ 0x33);
  const down = patternBytes(n, SEED ^ 0x44);
  const l = tb.listen(5001);
  let sd = null as ReturnType<typeof drain> | null;
  l.onConnection((s) => {
    sd = drain(s);
    pump(s, down);
  });
  const c = ta.connect({ dst: IP_B, dstPort: 5001 });
  const cd = drain(c);
  c.onConnect = () => pump(c, up);
  let err: unknown = null;
  c.onClose = (e) => (err = e ?? null);
  const t0 = performance.now();
  net.run(() => cd.ended() && sd !== null && sd.ended(), 3_600_000);
  const wall = performance.now() - t0;
  assert.equal(err, null, `${name}: ${S}`);
  assert.equal(cd.digest(), sha256(down), `${name}: download ${S}`);
  assert.equal(sd!.digest(), sha256(up), `${name}: upload ${S}`);
  const virt = net.clock.now();
  net.run(() => ta.connections === 0 && tb.connections === 0, 200_000);
  l.close();
  assert.equal(ta.connections + tb.connections, 0, `${name}: connections left ${S}`);
  assert.equal(net.a.pool.inUse, 0, `${name}: a's frames ${S}`);
  assert.equal(net.b.pool.inUse, 0, `${name}: b's frames ${S}`);
  console.log(`# link ${name}: 2×${(n / 1048576).toFixed(1)} MB in ${wall.toFixed(0)} ms wall (${((2 * n) / 1e3 / wall).toFixed(0)} MB/s), ${(virt / 1000).toFixed(2)} s virtual; a rexmit ${ta.counters.retransmittedSegments}, fast ${ta.counters.fastRetransmits}, rto ${ta.counters.rtoTimeouts}`);
}

test('tcp over the memory link: clean', () => linkBulk('clean', {}));

test('tcp over the memory link: TSO, checksum offload, LRO', () =>
  linkBulk('offload', { device: { txCsumL4: true, rxCsumL4: true, txCsumIp: true, rxCsumIp: true, tso: true, lro: true } }));

test('tcp over the memory link: 1% loss', () => linkBulk('loss 1%', { aToB: { loss: 0.01, delay: 1 }, bToA: { loss: 0.01, delay: 1 } }));

test('tcp over the memory link: 5% loss, reordering, duplication, with offloads', () => {
  const f = { loss: 0.05, reorder: 0.05, duplicate: 0.02, delay: 2 };
  linkBulk('loss 5% + reorder + dup', { aToB: f, bToA: f, device: { txCsumL4: true, rxCsumL4: true, tso: true, lro: true } });
});

test('tcp over the memory link: connect to a closed port → ECONNREFUSED; to a missing host → EHOSTUNREACH', () => {
  const net = twoStacks({ seed: SEED });
  const ta = tcpOf(net.a);
  tcpOf(net.b);
  const c = ta.connect({ dst: IP_B, dstPort: 9 });
  let code = '';
  c.onClose = (e) => (code = e?.code ?? 'none');
  net.run(() => code !== '');
  assert.equal(code, 'ECONNREFUSED');
  const d = ta.connect({ dst: IP_B + 5, dstPort: 9 });
  let code2 = '';
  d.onClose = (e) => (code2 = e?.code ?? 'none');
  net.run(() => code2 !== '', 120_000);
  assert.equal(code2, 'EHOSTUNREACH', S);
  assert.equal(ta.connections, 0);
});
