/**
 * SYN cookies (syn-cookie.ts): used only when a listener's SYN queue is full; a valid
 * cookie makes an ESTABLISHED connection with the MSS from the table, a wrong or
 * expired one is counted and refused; a flood of 100,000 spoofed SYNs leaves a
 * legitimate client able to connect and transfer, with memory and timers bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raw, Pair, A_ADDR, B_ADDR, patternBytes, sha256, pump, drain } from './tcp-harness.js';
import { Packet } from '../../src/packet/packet.js';
import { TCP_ACK, TCP_RST, TCP_SYN, emitTcp, tcpHeaderLength, writeTcpChecksum, type TcpFields } from '../../src/wire/tcp.js';
import { Random, seedFromEnv } from '../../src/util/random.js';
import { seedNote } from '../support/require.js';
import { cookieMssIndex, SynCookies } from '../../src/stack/tcp/syn-cookie.js';
import type { TcpConnection } from '../../src/stack/tcp/index.js';

const SEED = seedFromEnv();
const S = seedNote(SEED);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const syn = (port: number, seq: number, mss?: number): TcpFields => ({ srcPort: port, dstPort: 80, seq, ack: 0, flags: TCP_SYN, window: 65535, urgent: 0, options: mss ? { mss } : {} });
const ackOf = (port: number, seq: number, ack: number, flags = TCP_ACK): TcpFields => ({ srcPort: port, dstPort: 80, seq, ack, flags, window: 65535, urgent: 0 });

test('syn cookies: MSS table index, cookie round trip, tampering and age', () => {
  assert.deepEqual([100, 536, 1299, 1300, 1439, 1440, 1459, 1460, 9000].map(cookieMssIndex), [0, 0, 0, 1, 1, 2, 2, 3, 3]);
  const r = new Random(SEED);
  const jar = new SynCookies(r.nextU32(), r.nextU32());
  for (let i = 0; i < 1000; i++) {
    const isn = r.nextU32();
    const mss = [536, 1300, 1440, 1460][i & 3]!;
    const now = r.int(10_000_000);
    const c = jar.make(A_ADDR, 80, B_ADDR, 4000 + i, isn, mss, now);
    assert.equal((c >>> 24) & 7, i & 3, 'the MSS index in bits 24-26');
    assert.equal(jar.check(A_ADDR, 80, B_ADDR, 4000 + i, isn, c, now), mss);
    assert.equal(jar.check(A_ADDR, 80, B_ADDR, 4000 + i, isn, c, now + 2 * 64_000), mss, 'two periods later: still good');
    assert.equal(jar.check(A_ADDR, 80, B_ADDR, 4000 + i, isn, c, Math.floor(now / 64_000) * 64_000 + 3 * 64_000), 0, 'three periods later: expired');
    assert.equal(jar.check(A_ADDR, 80, B_ADDR, 4001 + i, isn, c, now), 0, 'another port');
    assert.equal(jar.check(A_ADDR, 80, B_ADDR, 4000 + i, (isn + 1) >>> 0, c, now), 0, 'another client ISN');
    assert.equal(jar.check(A_ADDR, 80, B_ADDR, 4000 + i, isn, (c ^ 1) >>> 0, now), 0, 'a flipped bit');
    assert.equal(jar.check(A_ADDR, 80, B_ADDR, 4000 + i, isn, (c ^ (1 << 24)) >>> 0, now), 0, 'another MSS index');
  }
});

/** A listener on a Raw host with a SYN queue of 2, filled. */
function fullListener(options = {}): { r: Raw; l: ReturnType<Raw['tcp']['listen']> } {
  const r = new Raw(SEED, { synBacklog: 2, synRetries: 100, ...options });
  const l = r.tcp.listen(80, { backlog: 8 });
  r.send(syn(4000, 1000, 1460));
  r.send(syn(4001, 2000, 1460));
  r.take();
  assert.equal(l.handshaking, 2);
  assert.equal(r.tcp.counters.syncookiesSent, 0, 'no cookies while the SYN queue has room');
  return { r, l };
}

test('syn cookies: a full SYN queue answers statelessly; the ACK makes an ESTABLISHED connection with the MSS from the cookie', () => {
  const { r, l } = fullListener();
  const conns = r.tcp.connections;
  r.send(syn(5000, 7000, 1400));
  const sa = r.take();
  assert.equal(sa.length, 1);
  assert.equal(sa[0]!.flags, TCP_SYN | TCP_ACK);
  assert.equal(sa[0]!.ack, 7001);
  assert.equal(sa[0]!.options.mss, 1460, 'our MSS');
  assert.equal(sa[0]!.options.wscale, undefined, 'no window scaling without timestamps');
  assert.equal(r.tcp.counters.syncookiesSent, 1);
  assert.equal(r.tcp.connections, conns, 'no state kept');
  assert.equal(l.handshaking, 2);
  // The completing ACK carries data: the connection is made and takes it.
  r.send(ackOf(5000, 7001, sa[0]!.seq + 1, TCP_ACK), enc('hello'));
  assert.equal(r.tcp.counters.syncookiesRecv, 1);
  assert.equal(l.pending, 1);
  const c = l.accept()!;
  assert.equal(c.stateName, 'ESTABLISHED');
  assert.equal(c.remotePort, 5000);
  assert.equal(c.sndMss, 1300, '1400 from the SYN → 1300 from the table');
  assert.equal(c.snd.iss, sa[0]!.seq);
  assert.deepEqual(c.windowScales, { send: 0, receive: 0 });
  assert.equal(new TextDecoder().decode(c.read()!), 'hello');
  const acks = r.advance(50);
  assert.ok(acks.some((s) => s.ack === 7006), 'the data is acknowledged');
  // What it sends is cut to the cookie's MSS.
  c.write(new Uint8Array(5000).fill(1));
  const out = r.collect().filter((s) => s.payload.length > 0);
  assert.ok(out.length >= 3 && out.every((s) => s.payload.length <= 1300), `segments ${out.map((s) => s.payload.length).join(',')}`);
  assert.equal(out[0]!.payload.length, 1300);
  assert.equal(r.tcp.counters.drops.internalError, 0);
  c.abort();
  l.close();
});

test('syn cookies: a wrong, altered or expired cookie is refused (RST, as Linux) and counted; no connection', () => {
  const { r, l } = fullListener();
  r.send(syn(5001, 9000, 1460));
  const sa = r.take()[0]!;
  const conns = r.tcp.connections;
  // Wrong cookie, wrong client ISN.
  r.send(ackOf(5001, 9001, sa.seq + 2));
  r.send(ackOf(5001, 9002, sa.seq + 1));
  assert.equal(r.tcp.counters.syncookiesFailed, 2);
  const rsts = r.take();
  assert.equal(rsts.length, 2);
  assert.ok(rsts.every((s) => s.flags === TCP_RST));
  assert.equal(r.tcp.connections, conns);
  assert.equal(l.pending, 0);
  // Age: a cookie from now is good 130 s later (counter − 2), not 200 s later (counter − 3).
  r.send(syn(5002, 11_000, 1460));
  const a2 = r.take().find((s) => s.flags === (TCP_SYN | TCP_ACK) && s.dst === B_ADDR && s.ack === 11_001)!;
  r.send(syn(5003, 12_000, 1460));
  const a3 = r.take().find((s) => s.flags === (TCP_SYN | TCP_ACK) && s.ack === 12_001)!;
  assert.equal(r.tcp.counters.syncookiesSent, 3);
  r.advance(130_000 - (r.now % 64_000));
  r.send(syn(6000, 1, 1460)); // the queue overflows again: cookies are being checked
  r.send(ackOf(5002, 11_001, a2.seq + 1));
  assert.equal(r.tcp.counters.syncookiesRecv, 1, 'two periods old: accepted');
  r.advance(70_000);
  r.send(syn(6001, 1, 1460));
  const failed = r.tcp.counters.syncookiesFailed;
  r.send(ackOf(5003, 12_001, a3.seq + 1));
  assert.equal(r.tcp.counters.syncookiesFailed, failed + 1, 'three periods old: refused');
  assert.equal(r.tcp.counters.syncookiesRecv, 1);
  assert.ok(r.take().some((s) => s.flags === TCP_RST && s.dstPort === 5003));
  l.close();
});

test('syn cookies: no recent overflow, no cookie check (a stray ACK is reset, not counted); disabled: SYNs dropped', () => {
  const r = new Raw(SEED);
  const l = r.tcp.listen(80);
  r.send(ackOf(5000, 1, 12345));
  assert.equal(r.tcp.counters.syncookiesFailed, 0);
  assert.equal(r.take()[0]!.flags, TCP_RST);
  l.close();
  const { r: r2, l: l2 } = fullListener({ synCookies: false });
  r2.send(syn(5000, 1, 1460));
  assert.equal(r2.take().length, 0);
  assert.equal(r2.tcp.counters.syncookiesSent, 0);
  assert.equal(r2.tcp.counters.drops.backlogFull, 1);
  l2.close();
});

test('syn cookies: a cookie ACK when the accept queue is full is dropped (no RST): the client retries', () => {
  const r = new Raw(SEED, { synBacklog: 1, synRetries: 100 });
  const l = r.tcp.listen(80, { backlog: 1 });
  r.send(syn(4000, 1000, 1460));
  r.send(syn(5000, 7000, 1460));
  const sa = r.take().find((s) => s.ack === 7001)!;
  assert.equal(r.tcp.counters.syncookiesSent, 1);
  r.send(syn(6001, 50, 1460));
  const sb = r.take().find((s) => s.ack === 51)!;
  assert.equal(r.tcp.counters.syncookiesSent, 2);
  // The first cookie connection fills the accept queue (backlog 1).
  r.send(ackOf(5000, 7001, sa.seq + 1));
  assert.equal(l.pending, 1);
  const drops = r.tcp.counters.drops.backlogFull;
  r.send(ackOf(6001, 51, sb.seq + 1));
  assert.equal(r.take().length, 0, 'no RST');
  assert.equal(r.tcp.counters.drops.backlogFull, drops + 1);
  assert.equal(l.pending, 1);
  l.close();
});

// ------------------------------------------------------------------ the flood

const FLOOD = Number(process.env['SHOAL_SYNFLOOD'] ?? 100_000);

test(`syn cookies: ${FLOOD} spoofed SYNs while a client connects and sends 1 MB: it succeeds, memory and timers stay bounded`, () => {
  const pair = new Pair({ seed: SEED, ab: { delay: 1 }, ba: { delay: 1 } });
  const b = pair.b;
  const l = b.tcp.listen(80);
  const synBacklog = l.synBacklog;
  let server: TcpConnection | null = null;
  let sd = null as ReturnType<typeof drain> | null;
  l.onConnection((s) => {
    server = s;
    sd = drain(s);
  });
  const rnd = new Random(SEED ^ 0x5eed);
  let injected = 0;
  // Each spoofed SYN from its own (address, port): one that repeated a 4-tuple still in the
  // SYN queue would be that connection's SYN again, not a new one to account for.
  const used = new Set<number>();
  const inject = (n: number): void => {
    for (let i = 0; i < n; i++) {
      let src: number;
      let port: number;
      do {
        src = (0xc6120000 | rnd.int(0x20000)) >>> 0; // 198.18.0.0/15
        port = 1024 + rnd.int(64_000);
      } while (used.has((src & 0x1ffff) * 65536 + port));
      used.add((src & 0x1ffff) * 65536 + port);
      const h = syn(port, rnd.nextU32(), [536, 1300, 1440, 1460][rnd.int(4)]);
      const hl = tcpHeaderLength(h);
      const p = Packet.alloc(b.pool, 64);
      if (p === null) throw new Error('pool empty');
      const at = p.append(hl);
      emitTcp(h, p.bufs[0]!, at);
      writeTcpChecksum(src, B_ADDR, p.bufs[0]!, at, hl);
      b.tcp.receive(p, src, B_ADDR, pair.now);
      injected++;
    }
    b.tcp.flush();
  };
  // The attacker's SYN-ACKs go nowhere (only the client's port reaches A).
  let clientPort = -1;
  pair.ba.filter = (bytes) => ((bytes[2]! << 8) | bytes[3]!) !== clientPort;
  const data = patternBytes(1 << 20, SEED ^ 0x77);
  inject(1000); // the SYN queue is full before the client comes
  assert.equal(l.handshaking, synBacklog);
  const c = pair.a.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  clientPort = c.localPort;
  let connectedAt = -1;
  c.onConnect = () => {
    connectedAt = pair.now;
    pump(c, data);
  };
  let err: unknown = null;
  c.onClose = (e) => (err = e ?? null);
  const max = { handshaking: 0, connections: 0, timers: 0, poolInUse: 0 };
  const watch = (): void => {
    max.handshaking = Math.max(max.handshaking, l.handshaking);
    max.connections = Math.max(max.connections, b.tcp.connections);
    max.timers = Math.max(max.timers, b.timers.size);
    max.poolInUse = Math.max(max.poolInUse, b.pool.inUse);
  };
  // 200 SYNs per ms (200,000 SYN/s) until FLOOD are in, with the client running alongside.
  while (injected < FLOOD) {
    inject(Math.min(200, FLOOD - injected));
    watch();
    pair.advance(1);
    watch();
  }
  const floodEnd = pair.now;
  pair.run(() => sd !== null && sd.ended(), 60_000);
  assert.equal(err, null, S);
  assert.ok(sd !== null && sd.ended(), `transfer finished ${S}`);
  assert.equal(sd!.digest(), sha256(data), `1 MB intact ${S}`);
  const k = b.tcp.counters;
  console.log(
    `# syn flood: ${injected} SYNs in ${floodEnd} ms virtual; client connected at ${connectedAt} ms, done at ${pair.now} ms; ` +
      `cookies sent ${k.syncookiesSent}, valid ${k.syncookiesRecv}, failed ${k.syncookiesFailed}, SYNs dropped ${k.drops.backlogFull}; ` +
      `max: SYN queue ${max.handshaking}/${synBacklog}, connections ${max.connections}, timers ${max.timers}, frames in use ${max.poolInUse} ${S}`,
  );
  assert.ok(connectedAt >= 0 && connectedAt < floodEnd, `connected during the flood (at ${connectedAt}, flood until ${floodEnd}) ${S}`);
  assert.equal(max.handshaking, synBacklog, 'the SYN queue at its limit, never beyond');
  assert.ok(max.connections <= synBacklog + 1, `connections ${max.connections}: the SYN queue and the client only`);
  assert.equal(k.syncookiesRecv, 1, 'only the client completed a cookie');
  assert.equal(k.passiveOpens, 1);
  assert.ok(k.syncookiesSent > FLOOD / 2, `cookies answered most of the flood: ${k.syncookiesSent}`);
  assert.equal(k.syncookiesSent + k.drops.backlogFull + synBacklog, injected + 1, 'every SYN accounted for (the client’s included)');
  assert.ok(max.timers <= 3 * (synBacklog + 1) + 16, `timers ${max.timers}`);
  assert.ok(max.poolInUse < 1024, `frames ${max.poolInUse}`);
  assert.equal(k.drops.internalError, 0);
  // Everything goes away: the embryos time out, the client closes.
  server!.close();
  c.close();
  pair.run(() => pair.a.tcp.connections === 0 && b.tcp.connections === 0, 600_000);
  l.close();
  assert.deepEqual(pair.leaks(), [], S);
});

test('syn cookies with timestamps: window scale and SACK-permitted survive in the TSval bits, as on Linux', () => {
  const { r, l } = fullListener();
  r.send({ ...syn(5001, 9000, 1460), options: { mss: 1460, sackPermitted: true, tsVal: 777, tsEcr: 0, wscale: 7 } });
  const [sa] = r.take();
  assert.equal(sa!.flags, TCP_SYN | TCP_ACK);
  assert.equal(sa!.options.tsEcr, 777, 'the client timestamp is echoed');
  assert.equal(sa!.options.sackPermitted, true);
  assert.equal(sa!.options.wscale, 7, 'our scale for the 6 MiB the receive buffer may grow to');
  assert.equal(sa!.options.tsVal! & 0x3f, 0x10 | 7, 'SACK and the client scale in the low bits');
  assert.equal(r.tcp.connections, 2, 'still no state for it');
  r.send({ ...ackOf(5001, 9001, sa!.seq + 1, TCP_ACK), options: { tsVal: 778, tsEcr: sa!.options.tsVal! } });
  const c = l.accept()!;
  assert.equal(c.stateName, 'ESTABLISHED');
  assert.deepEqual(c.windowScales, { send: 7, receive: 7 });
  // It sends with timestamps that do not go back before the SYN-ACK's (PAWS at the peer).
  c.write(new Uint8Array(100));
  const out = r.collect().filter((s) => s.payload.length > 0);
  assert.ok(out.length > 0);
  assert.ok(((out[0]!.options.tsVal! - sa!.options.tsVal!) | 0) > 0, 'timestamps move on');
  assert.equal(out[0]!.options.tsEcr, 778);
  c.abort();
  l.close();
});
