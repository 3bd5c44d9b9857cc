/**
 * Bulk transfers in each direction under faults, checked with SHA-256. The size is a
 * constant: 100 MB each way, as the issue asks (SHOAL_TCP_BULK_MB=4 for a quick run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, B_ADDR, patternBytes, sha256, pump, drain, type PairOptions } from './tcp-harness.js';
import { seedFromEnv } from '../../src/util/random.js';

const SEED = seedFromEnv();
export const BULK_MB = Number(process.env['SHOAL_TCP_BULK_MB'] ?? 100);
const N = Math.round(BULK_MB * (1 << 20));

interface Result {
  h: Pair;
  wallMs: number;
  zeroWindows: number;
  virtMs: number;
  maxFlight: number;
  scales: { send: number; receive: number };
}

function bulk(name: string, o: Omit<PairOptions, 'seed'>, n = N, reader: { maxRead?: number; every?: number } = {}): Result {
  const h = new Pair({ seed: SEED, ...o });
  const up = patternBytes(n, SEED ^ 0x1111);
  const down = patternBytes(n, SEED ^ 0x2222);
  const l = h.b.tcp.listen(5001);
  let sd = null as ReturnType<typeof drain> | null;
  l.onConnection((s) => {
    sd = drain(s);
    pump(s, down);
  });
  const c = h.a.tcp.connect({ dst: B_ADDR, dstPort: 5001 });
  let zeroWindows = 0;
  let maxFlight = 0;
  h.ab.tap = (b) => {
    if (b[14] === 0 && b[15] === 0 && (b[13]! & 0x02) === 0) zeroWindows++;
    const f = (c.snd.sndNxt - c.snd.sndUna) | 0;
    if (f > maxFlight) maxFlight = f;
  };
  const cd = drain(c, reader.maxRead !== undefined ? { maxRead: reader.maxRead } : {});
  if (reader.every !== undefined) {
    // A slow reader: reads maxRead bytes every `every` ms, whatever onReadable says.
    const rd = c.onReadable!;
    c.onReadable = null;
    const tick = (): void => {
      rd();
      if (!cd.ended() && c.stateName !== 'CLOSED') h.a.timers.schedule(h.now + reader.every!, tick);
    };
    h.a.timers.schedule(h.now + reader.every, tick);
  }
  c.onConnect = () => pump(c, up);
  const t0 = performance.now();
  h.run(() => cd.ended() && sd !== null && sd.ended(), 3_600_000);
  const wallMs = performance.now() - t0;
  const seed = `(SHOAL_SEED=${SEED})`;
  assert.equal(cd.bytes(), n, `${name}: bytes down ${seed}`);
  assert.ok(sd, `${name}: accepted ${seed}`);
  assert.equal(sd!.bytes(), n, `${name}: bytes up ${seed}`);
  assert.equal(cd.digest(), sha256(down), `${name}: download intact ${seed}`);
  assert.equal(sd!.digest(), sha256(up), `${name}: upload intact ${seed}`);
  const virt = h.now;
  const scales = c.windowScales;
  h.advance(130_000);
  l.close();
  h.ab.clear();
  h.ba.clear();
  assert.deepEqual(h.leaks(), [], `${name}: leaks ${seed}`);
  const ca = h.a.tcp.counters;
  console.log(
    `# ${name}: 2×${(n / 1048576).toFixed(1)} MB, wall ${wallMs.toFixed(0)} ms (${((2 * n) / 1e3 / wallMs).toFixed(0)} MB/s), virtual ${(virt / 1000).toFixed(2)} s, ` +
      `a: rexmit ${ca.retransmittedSegments} fast ${ca.fastRetransmits} rto ${ca.rtoTimeouts} probes ${ca.persistProbes} ooo-drops ${ca.drops.oooQueueFull}, lost ${h.ab.counters.lost + h.ba.counters.lost}`,
  );
  return { h, wallMs, zeroWindows, virtMs: virt, maxFlight, scales };
}

test('tcp bulk: no faults', () => {
  bulk('clean', {});
});

test('tcp bulk: no faults with TSO, checksum offload and LRO', () => {
  bulk('offload', { features: { tso: true, txCsumL4: true }, ab: { lro: true, verified: true }, ba: { lro: true, verified: true } });
});

test('tcp bulk: 1% loss', () => {
  const { h } = bulk('loss 1%', { ab: { loss: 0.01, delay: 1 }, ba: { loss: 0.01, delay: 1 } });
  assert.ok(h.a.tcp.counters.fastRetransmits > 0, 'fast retransmit used');
});

test('tcp bulk: 5% loss with reordering and duplication', () => {
  const f = { loss: 0.05, reorder: 0.05, reorderDelay: 3, duplicate: 0.02, delay: 2 };
  bulk('loss 5% + reorder + dup', { ab: f, ba: f });
});

test('tcp bulk: 200 ms RTT, 100 Mbit/s: window scaling fills the pipe', () => {
  const big = { recvBuffer: 4 << 20, sendBuffer: 4 << 20 };
  const link = { delay: 100, rate: 12_500, limit: 100_000 };
  const r = bulk('200ms rtt', { a: big, b: big, ab: link, ba: link, slots: 16384 });
  assert.ok(r.scales.send > 0 && r.scales.receive > 0, 'window scaling negotiated');
  assert.ok(r.maxFlight > 4 * 65535, `flight reached ${r.maxFlight} bytes (beyond an unscaled window)`);
  // 100 Mbit/s full duplex: N / 12.5 MB/s at best, plus slow start (about 8 RTTs to reach the 2.5 MB BDP).
  const ideal = N / 12_500 + 8 * 200;
  assert.ok(r.virtMs < 2 * ideal, `took ${r.virtMs} ms virtual, ideal about ${ideal}`);
});

test('tcp bulk: a slow reader (zero windows, persist probes)', () => {
  const small = { recvBuffer: 64 * 1024 };
  const n = Math.min(N, 1 << 20);
  const { h, zeroWindows } = bulk('slow reader', { a: small }, n, { maxRead: 32 * 1024, every: 500 });
  assert.ok(zeroWindows > 0, 'the receiver advertised a zero window');
  assert.ok(h.b.tcp.counters.persistProbes > 0, 'the sender probed it');
});
