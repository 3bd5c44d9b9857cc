/**
 * CUBIC (RFC 9438): the window curve against hand-computed values, the Reno-friendly
 * region, fast convergence, the loss and timeout responses; then CUBIC against NewReno
 * over the memory link on a long fat path with a little random loss.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NewReno } from '../../src/stack/tcp/index.js';
import { Cubic, CUBIC_ALPHA, cubicK, cubicW } from '../../src/stack/tcp/cubic.js';
import { DEFAULT_TCP_OPTIONS, resolveOptions } from '../../src/stack/tcp/options.js';
import { twoStacks, IP_B } from './net.js';
import { patternBytes, sha256, pump, drain } from './tcp-harness.js';
import { seedFromEnv } from '../../src/util/random.js';
import { seedNote } from '../support/require.js';

const MSS = 1000;
const close = (a: number, b: number, eps: number, what: string): void => assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} vs ${b} (±${eps})`);

test('cubic: K and W_cubic(t) match RFC 9438 eq. 1-2 by hand', () => {
  // W_max = 100, β = 0.7: cwnd_epoch = 70, K = ∛(30/0.4) = ∛75 = 4.2171633 s.
  const k = cubicK(100, 70);
  close(k, 4.217163326508746, 1e-12, 'K');
  close(cubicW(0, k, 100), 70, 1e-9, 'W(0) = β·W_max');
  close(cubicW(k, k, 100), 100, 1e-12, 'W(K) = W_max');
  close(cubicW(2, k, 100), 95.64033568663878, 1e-9, 'W(2 s), concave');
  close(cubicW(6, k, 100), 102.26670325646442, 1e-9, 'W(6 s), convex');
  assert.equal(cubicK(50, 60), 0, 'K = 0 when cwnd_epoch ≥ W_max');
  close(CUBIC_ALPHA, 0.9 / 1.7, 1e-15, 'α_cubic = 3(1−β)/(1+β)');
});

test('cubic: loss response (β = 0.7) and fast convergence', () => {
  const c = new Cubic(10 * MSS);
  c.cwnd = 100 * MSS;
  c.ssthresh = 100 * MSS;
  c.onCongestion(100 * MSS, MSS, 0);
  assert.equal(c.wMax, 100, 'first loss: W_max = cwnd');
  assert.equal(c.ssthresh, 70 * MSS);
  assert.equal(c.cwnd, 70 * MSS);
  c.onRecoveryEnd(70 * MSS, MSS, 0);
  assert.equal(c.cwnd, 70 * MSS, 'cwnd = ssthresh after recovery');
  // A second loss below W_max: fast convergence, W_max = 80·(1 + 0.7)/2 = 68.
  c.cwnd = 80 * MSS;
  c.onCongestion(80 * MSS, MSS, 1000);
  close(c.wMax, 68, 1e-9, 'W_max after fast convergence');
  assert.equal(c.ssthresh, 56 * MSS);
  // Without fast convergence W_max is just cwnd.
  const d = new Cubic(10 * MSS, { fastConvergence: false });
  d.cwnd = 100 * MSS;
  d.onCongestion(0, MSS, 0);
  d.cwnd = 80 * MSS;
  d.onCongestion(0, MSS, 0);
  assert.equal(d.wMax, 80);
});

test('cubic: timeout response (§4.8): one segment, ssthresh = β·cwnd once, then K = 0 at the new epoch', () => {
  const c = new Cubic(10 * MSS);
  c.cwnd = 100 * MSS;
  c.ssthresh = 100 * MSS;
  c.onRto(100 * MSS, MSS, 0);
  assert.equal(c.cwnd, MSS);
  assert.equal(c.ssthresh, 70 * MSS);
  c.onRto(100 * MSS, MSS, 500); // backed-off timeout in a row: ssthresh stays
  assert.equal(c.ssthresh, 70 * MSS);
  c.cwnd = 70 * MSS; // slow start done
  c.onAck(MSS, 70 * MSS, MSS, 2000);
  assert.equal(c.k, 0);
  assert.equal(c.wMax, 70);
  assert.equal(c.epochStart, 2000);
});

test('cubic: the Reno-friendly region: W_est grows by α_cubic per window and wins while W_cubic is below it', () => {
  const c = new Cubic(10 * MSS);
  c.cwnd = 10 * MSS;
  c.ssthresh = 10 * MSS;
  c.onCongestion(10 * MSS, MSS, 0); // W_max 10, cwnd 7
  c.onRtt(10, 0);
  // First ACK at the start of the epoch: W_est = 7 + α/7 = 7.0756303 > W_cubic(0) = 7: cwnd = W_est.
  c.onAck(MSS, 7 * MSS, MSS, 100);
  close(c.wEst, 7.07563025210084, 1e-12, 'W_est');
  assert.equal(c.cwnd, 7075);
  // 10 ms RTT: a Reno flow gains a segment per 10 ms, far ahead of the cubic curve (K = 1.96 s).
  let now = 100;
  for (let rtt = 0; rtt < 50; rtt++) {
    now += 10;
    const n = Math.floor(c.cwnd / MSS);
    for (let i = 0; i < n; i++) c.onAck(MSS, c.cwnd, MSS, now);
  }
  const wc = cubicW((now - 100) / 1000, cubicK(10, 7), 10);
  assert.ok(wc < c.wEst, `W_cubic ${wc} below W_est ${c.wEst}`);
  close(c.cwnd / MSS, c.wEst, 1, 'cwnd follows W_est');
  // About 3/0.529 ≈ 6 RTTs at α_cubic to reach cwnd_prior (10), then 1 per RTT: ≈ 7 + 3 + 44.
  close(c.wEst, 54, 3, 'W_est after 50 RTTs');
});

test('cubic: the window follows W_cubic(t) through the concave and convex regions', () => {
  const c = new Cubic(10 * MSS);
  c.cwnd = 100 * MSS;
  c.ssthresh = 100 * MSS;
  c.onCongestion(100 * MSS, MSS, 0);
  c.onRtt(100, 0);
  const k = cubicK(100, 70);
  const at = new Map<number, number>();
  let now = 0;
  // One window of ACKs per 100 ms round trip, the window always full.
  while (now < 7000) {
    const n = Math.floor(c.cwnd / MSS);
    for (let i = 0; i < n; i++) c.onAck(MSS, c.cwnd, MSS, now);
    now += 100;
    at.set(now, c.cwnd / MSS);
  }
  // cwnd moves toward W(t + RTT) over a round trip: after the ACKs of [t, t+RTT) it is about W(t + RTT).
  for (const t of [1000, 2000, 3000, 4200, 5000, 6000]) {
    const w = cubicW(t / 1000, k, 100);
    close(at.get(t)!, w, Math.max(1.5, 0.02 * w), `cwnd at ${t} ms`);
  }
  assert.ok(Math.abs(at.get(4200)! - 100) < 1.5, 'plateau near W_max at t = K');
});

test('congestion option: cubic by default, newreno by name, a factory as is', () => {
  const d = DEFAULT_TCP_OPTIONS.congestion(1460, 14600);
  assert.equal(d.name, 'cubic');
  assert.equal(resolveOptions(DEFAULT_TCP_OPTIONS, { congestion: 'newreno' }).congestion(1460, 14600).name, 'newreno');
  const f = (_m: number, iw: number): NewReno => new NewReno(iw);
  assert.equal(resolveOptions(DEFAULT_TCP_OPTIONS, { congestion: f }).congestion, f);
  assert.throws(() => resolveOptions(DEFAULT_TCP_OPTIONS, { congestion: 'bbr' as never }), RangeError);
});

// ------------------------------------------------------------------ over the memory link

const SEED = process.env['SHOAL_SEED'] !== undefined ? seedFromEnv() : 7;
const S = seedNote(SEED);
const CMP_MB = Number(process.env['SHOAL_CUBIC_MB'] ?? 12);
const CMP_SEEDS = [7, 8, 9];

function transfer(congestion: 'cubic' | 'newreno', n: number, seed: number): { ms: number; avgCwnd: number; fast: number; rto: number } {
  const link = { delay: 100, rate: 100e6, queueFrames: 4000 };
  const net = twoStacks({ seed, aToB: { ...link, loss: 0.001 }, bToA: link, stack: { tcp: { recvBuffer: 4 << 20, sendBuffer: 4 << 20, congestion } } });
  const data = patternBytes(n, seed ^ 0x55);
  const l = net.b.tcp.listen(5001);
  let sd = null as ReturnType<typeof drain> | null;
  l.onConnection((s) => (sd = drain(s)));
  const c = net.a.tcp.connect({ dst: IP_B, dstPort: 5001 });
  c.onConnect = () => pump(c, data);
  let err: unknown = null;
  c.onClose = (e) => (err = e ?? null);
  // Sample cwnd every 100 ms of virtual time.
  let sum = 0;
  let samples = 0;
  const done = (): boolean => sd !== null && sd.ended();
  while (!done() && net.clock.now() < 3_600_000) {
    net.run(done, 100);
    sum += c.cwnd;
    samples++;
  }
  const ms = net.clock.now();
  assert.equal(err, null, `${congestion} ${S}`);
  assert.equal(sd!.digest(), sha256(data), `${congestion}: data ${S}`);
  assert.equal(c.snd.cc.name, congestion);
  const r = { ms, avgCwnd: sum / samples, fast: net.a.tcp.counters.fastRetransmits, rto: net.a.tcp.counters.rtoTimeouts };
  c.close();
  l.close();
  net.run(() => net.a.tcp.connections === 0 && net.b.tcp.connections === 0, 200_000);
  assert.equal(net.a.pool.inUse + net.b.pool.inUse, 0, `frames left ${S}`);
  return r;
}

test('cubic vs newreno: 200 ms RTT, 100 Mbit/s, 0.1% loss: CUBIC recovers its window faster', () => {
  // With ~17 random losses per run, one run's luck can outweigh the algorithm (seen: a
  // seed where CUBIC drew 4 timeouts and NewReno 1), so the comparison adds up three
  // runs on fixed seeds — deterministic, and still failing if CUBIC grew no faster.
  const n = Math.round(CMP_MB * (1 << 20));
  const sum = (c: 'cubic' | 'newreno') => {
    const runs = CMP_SEEDS.map((seed) => transfer(c, n, seed));
    return { ms: runs.reduce((t, r) => t + r.ms, 0), avgCwnd: runs.reduce((t, r) => t + r.avgCwnd, 0) / runs.length, fast: runs.reduce((t, r) => t + r.fast, 0), rto: runs.reduce((t, r) => t + r.rto, 0) };
  };
  const cu = sum('cubic');
  const nr = sum('newreno');
  const f = (r: typeof cu): string => `${(r.ms / 1000).toFixed(1)} s virtual, average cwnd ${(r.avgCwnd / 1024).toFixed(0)} KiB, fast rexmit ${r.fast}, rto ${r.rto}`;
  console.log(`# 3 × ${CMP_MB} MB, 200 ms RTT, 100 Mbit/s, 0.1% loss (seeds ${CMP_SEEDS}):\n#   cubic   ${f(cu)}\n#   newreno ${f(nr)}`);
  assert.ok(cu.avgCwnd > 1.15 * nr.avgCwnd, `average cwnd: cubic ${cu.avgCwnd} vs newreno ${nr.avgCwnd} (seeds ${CMP_SEEDS})`);
  assert.ok(cu.ms < 0.9 * nr.ms, `completion: cubic ${cu.ms} ms vs newreno ${nr.ms} ms (seeds ${CMP_SEEDS})`);
});
