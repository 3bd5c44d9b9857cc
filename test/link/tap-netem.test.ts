/**
 * TCP through a TAP under loss, reordering and delay on the kernel side, as `tc netem`
 * would add them: 200 MB each way, both at once on one connection, by SHA-256.
 *
 * This kernel is built without sch_netem, so the impairment is made the other way netem
 * can be had: the kernel queues every IP packet crossing the TAP (both directions) to a
 * user-space program through NFQUEUE (iptables), and test/link/netem.py gives each its
 * verdict — dropped (2%), let through at once (25%: these overtake the rest), or let
 * through 10 ms later (the rest): 20 ms added to the round trip, seeded. Both ends' TCP
 * must recover from it: the kernel's (Shoal's packets lost or late on the way in) and
 * Shoal's (the kernel's lost or late on the way out).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exchange, PEER_SCRIPT, peerReport, type ExchangeReport } from './tap-peer.js';
import { requireTap, SHOAL_IP, withTapWorld, type TapWorld } from './tap-netns.js';
import { seedNote } from '../support/require.js';

const BYTES = 200 * 1024 * 1024;
/** The kernel-side peer gives up after this (the test's own timeout is longer). */
const PEER_LIMIT_MS = 840_000;
const PORT = 5207;
const NETEM = fileURLToPath(new URL('../../../test/link/netem.py', import.meta.url));

interface NetemStats {
  seen: number;
  dropped: number;
  early: number;
  delayed: number;
}

test('tap: 200 MB each way at once with 2% loss, reordering and 20 ms more RTT on the kernel side (user-space netem over NFQUEUE): SHA-256 equal', { timeout: 900_000 }, async (t) => {
  if (!requireTap(t, 'iptables', 'python3')) return;
  const seed = Number(process.env['SHOAL_SEED'] ?? 7);
  await withTapWorld({}, async (w) => {
    const toShoal = await startNetem(w, 0, seed);
    const fromShoal = await startNetem(w, 1, seed + 1);
    await w.exec('iptables', ['-t', 'mangle', '-A', 'POSTROUTING', '-o', w.tapName, '-j', 'NFQUEUE', '--queue-num', '0']);
    await w.exec('iptables', ['-t', 'mangle', '-A', 'PREROUTING', '-i', w.tapName, '-j', 'NFQUEUE', '--queue-num', '1']);

    const server = w.host!.net.createServer({ allowHalfOpen: true });
    const shoalSide = new Promise<ExchangeReport>((resolve, reject) => {
      server.once('connection', (s) => {
        server.close();
        exchange(s, false, BYTES, true).then(resolve, reject);
      });
    });
    await new Promise<void>((resolve) => server.listen(PORT, SHOAL_IP, resolve));
    const peer = w.spawn('node', ['-e', PEER_SCRIPT, 'client', SHOAL_IP, String(PORT), String(BYTES), String(PEER_LIMIT_MS), 'together']);
    const [kernel, shoal] = await Promise.all([peerReport(peer), shoalSide]);
    const [inStats, outStats] = [await stopNetem(toShoal), await stopNetem(fromShoal)];

    const note = seedNote(seed);
    assert.equal(shoal.bytes, BYTES, `Shoal received every byte ${note}`);
    assert.equal(kernel.bytes, BYTES, `the kernel received every byte ${note}`);
    assert.equal(shoal.received, kernel.sent, `kernel → Shoal: SHA-256 equal ${note}`);
    assert.equal(kernel.received, shoal.sent, `Shoal → kernel: SHA-256 equal ${note}`);
    for (const [what, s] of [['kernel → Shoal', inStats], ['Shoal → kernel', outStats]] as const) {
      assert.ok(s.dropped > 0 && s.early > 0 && s.delayed > 0, `${what}: packets were lost, reordered and delayed (${JSON.stringify(s)}) ${note}`);
    }
    const tcp = w.host!.stack.counters().tcp;
    assert.ok(tcp.retransmittedBytes > 0, 'Shoal retransmitted what was lost on the way to the kernel');
    assert.ok(tcp.sackRecoveries > 0, 'Shoal recovered with SACK');
    assert.equal(tcp.drops.internalError, 0);
    const mbps = (r: ExchangeReport): string => (r.bytes / (1024 * 1024) / (r.ms / 1000)).toFixed(1);
    t.diagnostic(
      `kernel → Shoal ${mbps(shoal)} MB/s, Shoal → kernel ${mbps(kernel)} MB/s; netem in ${JSON.stringify(inStats)}, out ${JSON.stringify(outStats)}; ` +
        `Shoal retransmitted ${tcp.retransmittedBytes} B (${tcp.lossProbes} loss probes, ${tcp.sackRecoveries} SACK recoveries of which ${tcp.spuriousRecoveries} undone, ` +
        `${tcp.rtoTimeouts} timeouts of which ${tcp.spuriousRtos} undone)`,
    );
  });
});

/** Starts netem.py on `queue` in the world's namespace; resolves once it is bound. */
async function startNetem(w: TapWorld, queue: number, seed: number): Promise<ChildProcess> {
  const p = w.spawn('python3', [NETEM, String(queue), String(seed), '0.02', '0.25', '10']);
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      if (d.toString().includes('READY')) {
        p.stdout!.off('data', onData);
        resolve();
      }
    };
    p.stdout!.on('data', onData);
    p.once('exit', (code) => reject(new Error(`netem.py on queue ${queue} exited with ${code}: ${err.trim()}`)));
  });
  return p;
}

/** Stops netem.py (its held packets go through) and returns what it did. */
function stopNetem(p: ChildProcess): Promise<NetemStats> {
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    p.once('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) reject(new Error(`netem.py gave no report: ${out}`));
      else resolve(JSON.parse(line) as NetemStats);
    });
    p.kill('SIGTERM');
  });
}
