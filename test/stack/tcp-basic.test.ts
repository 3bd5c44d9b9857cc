import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, A_ADDR, B_ADDR, patternBytes, sha256, pump, drain } from './tcp-harness.js';
import type { TcpConnection } from '../../src/stack/tcp/index.js';
import { seedFromEnv } from '../../src/util/random.js';

const SEED = seedFromEnv();
const msg = (s: string): string => `${s} (SHOAL_SEED=${SEED})`;

test('tcp: three-way handshake, data both ways, graceful close, TIME_WAIT expiry', () => {
  const h = new Pair({ seed: SEED });
  const l = h.b.tcp.listen(80);
  let server: TcpConnection | null = null;
  const got: string[] = [];
  l.onConnection((c) => {
    server = c;
    c.onReadable = () => {
      let b;
      while ((b = c.read()) !== null) got.push(Buffer.from(b).toString());
      c.write(new TextEncoder().encode('pong'));
    };
    c.onEnd = () => c.close();
  });
  const c = h.a.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  let connected = false;
  let reply = '';
  let closed: unknown = 'no';
  c.onConnect = () => {
    connected = true;
    c.write(new TextEncoder().encode('ping'));
  };
  c.onReadable = () => {
    let b;
    while ((b = c.read()) !== null) reply += Buffer.from(b).toString();
    c.close();
  };
  c.onClose = (e) => (closed = e);
  h.run(() => closed !== 'no');
  assert.ok(connected, msg('connected'));
  assert.equal(c.localAddress, A_ADDR);
  assert.ok(c.localPort >= 32768 && c.localPort <= 60999);
  assert.deepEqual(got, ['ping']);
  assert.equal(reply, 'pong');
  assert.equal(closed, undefined);
  assert.ok(server);
  assert.equal(h.a.tcp.counters.states.TIME_WAIT, 1, msg('active closer in TIME_WAIT'));
  h.run(() => h.b.tcp.connections === 0, 10_000);
  assert.equal(h.b.tcp.connections, 0, msg('the passive closer is gone after LAST_ACK'));
  const t0 = h.now;
  h.run(() => h.a.tcp.connections === 0, 120_000);
  assert.ok(h.now - t0 >= 59_000 && h.now - t0 <= 61_000, msg(`TIME_WAIT lasted ${h.now - t0} ms`));
  l.close();
  assert.deepEqual(h.leaks(), [], msg('leaks'));
  assert.equal(h.a.tcp.counters.activeOpens, 1);
  assert.equal(h.b.tcp.counters.passiveOpens, 1);
});

test('tcp: connect to a closed port gets RST → ECONNREFUSED', () => {
  const h = new Pair({ seed: SEED });
  const c = h.a.tcp.connect({ dst: B_ADDR, dstPort: 81 });
  let err: { code: string } | undefined;
  let closed = false;
  c.onClose = (e) => {
    closed = true;
    err = e;
  };
  h.run(() => closed);
  assert.equal(err?.code, 'ECONNREFUSED');
  assert.equal(h.b.tcp.counters.drops.noListener, 1);
  assert.equal(h.b.tcp.counters.resetsSent, 1);
  assert.deepEqual(h.leaks(), []);
});

test('tcp: bulk transfer 4 MB each way, no faults, SHA-256 equal', () => {
  const h = new Pair({ seed: SEED });
  const N = 4 << 20;
  const up = patternBytes(N, SEED);
  const down = patternBytes(N, SEED + 1);
  const l = h.b.tcp.listen(9000);
  let sd: ReturnType<typeof drain> | null = null;
  l.onConnection((s) => {
    sd = drain(s);
    pump(s, down);
  });
  const c = h.a.tcp.connect({ dst: B_ADDR, dstPort: 9000 });
  const cd = drain(c);
  c.onConnect = () => pump(c, up);
  let closes = 0;
  c.onClose = () => closes++;
  const t0 = performance.now();
  h.run(() => cd.ended() && sd !== null && sd.ended());
  const ms = performance.now() - t0;
  assert.equal(cd.digest(), sha256(down), msg('download intact'));
  assert.equal(sd!.digest(), sha256(up), msg('upload intact'));
  console.log(`# 2×${N >> 20} MB in ${ms.toFixed(0)} ms wall (${((2 * N) / 1e3 / ms).toFixed(0)} MB/s), virtual ${h.now.toFixed(0)} ms, segs a→b ${h.ab.counters.segments}`);
  h.advance(120_000);
  l.close();
  assert.deepEqual(h.leaks(), [], msg('leaks'));
});

test('tcp: simultaneous open and simultaneous close between two stacks', () => {
  const h = new Pair({ seed: SEED, ab: { delay: 5 }, ba: { delay: 5 } });
  const a = h.a.tcp.connect({ dst: B_ADDR, dstPort: 6000, srcPort: 5000 });
  const b = h.b.tcp.connect({ dst: A_ADDR, dstPort: 5000, srcPort: 6000 });
  const log: string[] = [];
  for (const [n, c] of [['a', a], ['b', b]] as const) {
    c.onConnect = () => log.push(`${n}:connect`);
    c.onClose = (e) => log.push(`${n}:close${e ? ':' + e.code : ''}`);
  }
  h.run(() => log.length === 2);
  assert.deepEqual(log.sort(), ['a:connect', 'b:connect'], msg('both connect'));
  assert.equal(a.stateName, 'ESTABLISHED');
  assert.equal(b.stateName, 'ESTABLISHED');
  // Both close at once: the FINs cross → CLOSING on both sides → TIME_WAIT on both.
  a.close();
  b.close();
  const states = new Set<string>();
  h.run(() => {
    states.add(a.stateName);
    states.add(b.stateName);
    return a.stateName === 'TIME_WAIT' && b.stateName === 'TIME_WAIT';
  });
  assert.ok(states.has('CLOSING'), msg(`went through CLOSING: ${[...states]}`));
  assert.deepEqual(log.slice(2).sort(), ['a:close', 'b:close']);
  h.advance(61_000);
  assert.deepEqual(h.leaks(), []);
});

import { IsnGenerator } from '../../src/stack/tcp/index.js';

test('tcp: ISNs (RFC 6528): keyed per 4-tuple, advancing with a 4 µs clock', () => {
  const g = new IsnGenerator(0x12345678, 0x9abcdef0);
  const other = new IsnGenerator(0x12345679, 0x9abcdef0);
  const i0 = g.isn(A_ADDR, 1000, B_ADDR, 80, 0);
  assert.notEqual(i0, g.isn(A_ADDR, 1001, B_ADDR, 80, 0), 'another port, another offset');
  assert.notEqual(i0, other.isn(A_ADDR, 1000, B_ADDR, 80, 0), 'another key, another offset');
  assert.equal(g.isn(A_ADDR, 1000, B_ADDR, 80, 1), (i0 + 250) >>> 0, '250 ticks per ms');
  const seen = new Set<number>();
  for (let p = 0; p < 1000; p++) seen.add(g.isn(A_ADDR, p, B_ADDR, 80, 0) >>> 20);
  assert.ok(seen.size > 600, `spread: ${seen.size} of 1000 distinct top-12-bit values`);
});

test('tcp: clear() tears everything down: connections, listeners, timers, frames', () => {
  const h = new Pair({ seed: SEED, ab: { delay: 1 }, ba: { delay: 1 } });
  const l = h.b.tcp.listen(80);
  const server: TcpConnection[] = [];
  l.onConnection((s) => server.push(s));
  const errs: string[] = [];
  for (let i = 0; i < 20; i++) {
    const c = h.a.tcp.connect({ dst: B_ADDR, dstPort: 80 });
    c.onConnect = () => c.write(new Uint8Array(100_000));
    c.onClose = (e) => errs.push(e?.code ?? 'none');
  }
  h.advance(3);
  h.a.tcp.clear();
  h.b.tcp.clear();
  h.ab.clear();
  h.ba.clear();
  assert.equal(errs.length, 20);
  assert.ok(errs.every((e) => e === 'ECONNABORTED'));
  assert.deepEqual(h.leaks(), []);
  assert.equal(h.b.tcp.counters.states.LISTEN, 0);
  assert.equal(h.a.tcp.pull({ src: 0, dst: 0, df: false, tos: 0, ttl: 0 }, h.now), null);
});
