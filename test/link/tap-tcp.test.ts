/**
 * TCP through a real TAP with the Linux kernel on the other end, offloads on: 20 MB each
 * way, both as server and as client, compared by SHA-256. The kernel's TSO frames must
 * reach Shoal whole (GSO frames, our LRO), and Shoal's must go out as GSO frames (TSO).
 * Throughput is printed as a diagnostic, never asserted.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { exchange, PEER_SCRIPT, peerReady, peerReport, type ExchangeReport } from './tap-peer.js';
import { KERNEL_IP, requireTap, SHOAL_IP, withTapWorld, type TapWorld } from './tap-netns.js';

const BYTES = 20 * 1024 * 1024;
const PORT = 5201;

test('tap: 20 MB each way, kernel client and Shoal server, SHA-256 equal, GSO frames both ways', { timeout: 180_000 }, async (t) => {
  if (!requireTap(t)) return;
  await withTapWorld({}, async (w) => {
    const server = w.host!.net.createServer({ allowHalfOpen: true });
    const shoalSide = new Promise<ExchangeReport>((resolve, reject) => {
      server.once('connection', (s) => {
        server.close();
        exchange(s, false, BYTES).then(resolve, reject);
      });
    });
    await new Promise<void>((resolve) => server.listen(PORT, SHOAL_IP, resolve));
    const peer = w.spawn('node', ['-e', PEER_SCRIPT, 'client', SHOAL_IP, String(PORT), String(BYTES)]);
    const [kernel, shoal] = await Promise.all([peerReport(peer), shoalSide]);
    check(t, w, kernel, shoal, 'kernel client → Shoal server');
  });
});

test('tap: 20 MB each way, Shoal client and kernel server, SHA-256 equal, GSO frames both ways', { timeout: 180_000 }, async (t) => {
  if (!requireTap(t)) return;
  await withTapWorld({}, async (w) => {
    const peer = w.spawn('node', ['-e', PEER_SCRIPT, 'server', KERNEL_IP, String(PORT), String(BYTES)]);
    const reported = peerReport(peer);
    await peerReady(peer);
    const shoal = await new Promise<ExchangeReport>((resolve, reject) => {
      const s = w.host!.net.connect({ port: PORT, host: KERNEL_IP, allowHalfOpen: true }, () => exchange(s, true, BYTES).then(resolve, reject));
      s.once('error', reject);
    });
    check(t, w, await reported, shoal, 'Shoal client → kernel server');
  });
});

test('tap: offloads off, 4 MB each way: checksums computed and checked in software both ways, no GSO frame', { timeout: 120_000 }, async (t) => {
  if (!requireTap(t)) return;
  const bytes = 4 * 1024 * 1024;
  await withTapWorld({ offloads: false }, async (w) => {
    const tap = w.tap!;
    assert.equal(tap.offloadFlags, 0);
    assert.deepEqual([tap.features.rxCsumL4, tap.features.txCsumL4, tap.features.tso, tap.features.lro], [false, false, false, false]);
    const server = w.host!.net.createServer({ allowHalfOpen: true });
    const shoalSide = new Promise<ExchangeReport>((resolve, reject) => {
      server.once('connection', (s) => {
        server.close();
        exchange(s, false, bytes).then(resolve, reject);
      });
    });
    await new Promise<void>((resolve) => server.listen(PORT, SHOAL_IP, resolve));
    const peer = w.spawn('node', ['-e', PEER_SCRIPT, 'client', SHOAL_IP, String(PORT), String(bytes)]);
    const [kernel, shoal] = await Promise.all([peerReport(peer), shoalSide]);
    check(t, w, kernel, shoal, 'offloads off, kernel client → Shoal server', bytes, false);
    const c = tap.counters();
    assert.equal(c.rxCsumPartial + c.rxCsumValid, 0, 'the kernel marked no checksum: Shoal checked them all');
    assert.equal(w.host!.stack.counters().tcp.drops.badChecksum, 0, 'every checksum was right');
  });
});

function check(t: TestContext, w: TapWorld, kernel: ExchangeReport, shoal: ExchangeReport, what: string, bytes = BYTES, gso = true): void {
  assert.equal(shoal.bytes, bytes, 'Shoal received every byte');
  assert.equal(kernel.bytes, bytes, 'the kernel received every byte');
  assert.equal(shoal.received, kernel.sent, 'kernel → Shoal: SHA-256 equal');
  assert.equal(kernel.received, shoal.sent, 'Shoal → kernel: SHA-256 equal');
  const c = w.tap!.counters();
  if (gso) {
    assert.ok(c.rxGsoFrames > 0, `the kernel's TSO frames arrived whole (rxGsoFrames ${c.rxGsoFrames})`);
    assert.ok(c.txGsoFrames > 0, `Shoal sent TSO frames (txGsoFrames ${c.txGsoFrames})`);
  } else {
    assert.equal(c.rxGsoFrames + c.txGsoFrames, 0, 'no GSO frame either way');
  }
  assert.equal(c.txRefused + c.txMalformed, 0, 'the kernel took every frame');
  const mbps = (r: ExchangeReport) => ((r.bytes / (1024 * 1024)) / (r.ms / 1000)).toFixed(0);
  t.diagnostic(`${what}: kernel → Shoal ${mbps(shoal)} MB/s, Shoal → kernel ${mbps(kernel)} MB/s; rx GSO frames ${c.rxGsoFrames}, tx GSO frames ${c.txGsoFrames}, wakeups ${c.wakeups}`);
}
