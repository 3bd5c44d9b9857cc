/**
 * A remote attacker against Shoal's receive memory, through a real TAP: one-byte TCP
 * segments that Shoal keeps each pin a whole 2 KB receive frame of the TAP queue's pool
 * (4,096 of them). Once all are pinned, every frame that comes is dropped for want of a
 * buffer (rxNoBuffer): no ping is answered, no ARP, not even the attacker's RSTs, for
 * good. Four connections of 1,024 out-of-order segments (the per-connection limit) were
 * enough, and so were ~4,000 in-order segments to an application that does not read.
 * A stack must bound what a peer's segments may hold (charge frames, not payload;
 * collapse, prune), as Linux does; these tests use more than what broke it:
 *
 * - out of order: 16 connections × 2,200 segments, every other byte (nothing deliverable);
 * - stalled reader: 40,000 segments in order, within the window Shoal advertised, to a
 *   server that never reads (pauseOnConnect): all of them must be taken.
 *
 * The attacker (test/link/rx-attack.py, raw sockets in the world's namespace) makes its
 * own handshakes; the kernel there, which has no socket for them, would reset them, so
 * its RSTs to Shoal from the attacker's ports are dropped with iptables (all but the
 * attacker's own, which carry a mark). The flood is paced (10,000 segments a second) so
 * that the TAP's queue in the kernel does not overflow: its drops would cost pings that
 * say nothing of Shoal's memory. What is checked is what a user sees: the kernel's ping
 * is answered during the attack (8 of 10: on a loaded machine the kernel's own TAP queue
 * may drop one; a deaf stack answered 2 of 10, those sent before its frames ran out) and
 * after it (all); after the attacker's RSTs Shoal's receive frames are back (only the
 * posted buffers in use); a new connection from the kernel echoes its bytes.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FramePool } from '../../src/packet/pool.js';
import { KERNEL_IP, requireTap, SHOAL_IP, withTapWorld, type TapWorld } from './tap-netns.js';

const ATTACKER = fileURLToPath(new URL('../../../test/link/rx-attack.py', import.meta.url));
const ECHO_PORT = 5210;
const SINK_PORT = 5211;
/** The attacker's source ports start here (below the kernel's ephemeral range: the echo client's port is never among them). */
const ATTACK_SPORT = 20000;
/** The attacker's packets carry this mark (SO_MARK): the iptables rule lets its own RSTs through. */
const ATTACK_MARK = '0x5107';
const PINGS_DURING = 10;
const PINGS_AFTER = 3;
/** Frames over the baseline (the posted receive buffers) still allowed in use once the attack is over. */
const POOL_SLACK = 8;
const ECHO_BYTES = 100_000;
/** Segments a second: what Shoal reads with room to spare on a busy 2-core machine; 4,096 frames are pinned in half a second at it. */
const FLOOD_RATE = 10_000;

interface AttackSummary {
  mode: string;
  established: number;
  sent: number;
  resent: number;
  sendErrors: number;
  acks: number;
  wscale: number | null;
  lastWindow: number | null;
  ackedMin: number;
  ackedTotal: number;
  floodSeconds: number;
  rsts?: number;
}

interface AttackSpec {
  mode: 'ooo' | 'inorder';
  port: number;
  conns: number;
  segments: number;
  /** Flood segments a second at most. */
  rate: number;
  /** ooo: the flood goes on (sending the same segments again) at least this long. */
  minSeconds: number;
  maxSeconds: number;
}

interface Observed {
  flooded: AttackSummary | null;
  done: AttackSummary | null;
  attackError: string | null;
  pingBefore: number;
  pingDuring: number;
  pingAfter: number;
  poolBaseline: number;
  poolUnderAttack: number;
  poolAfter: number;
  echo: string | null;
}

test('tap: out-of-order flood, 16 connections × 2,200 one-byte segments (every other byte): ping answered during and after, receive frames back after the RSTs, a new connection echoes', { timeout: 55_000 }, async (t) => {
  if (!requireTap(t, 'iptables', 'python3', 'ping')) return;
  await withTapWorld({}, async (w) => {
    await listenEcho(w);
    const spec: AttackSpec = { mode: 'ooo', port: ECHO_PORT, conns: 16, segments: 2200, rate: FLOOD_RATE, minSeconds: 3, maxSeconds: 8 };
    const o = await attack(t, w, spec);
    assert.equal(o.attackError, null, 'the attacker ran to its end');
    assert.equal(o.flooded!.established, spec.conns, 'the attacker connected to Shoal');
    assert.ok(o.flooded!.sent >= spec.conns * spec.segments * 0.99, `the attacker sent its out-of-order segments (${o.flooded!.sent})`);
    checkCommon(o);
  });
});

test('tap: stalled reader, 40,000 one-byte segments in order within the advertised window to a server that never reads: all taken, ping answered during and after, receive frames back after the RST, a new connection echoes', { timeout: 55_000 }, async (t) => {
  if (!requireTap(t, 'iptables', 'python3', 'ping')) return;
  await withTapWorld({}, async (w) => {
    await listenEcho(w);
    // The application never reads: what arrives stays in TCP's receive queue.
    const held: { bytesRead: number }[] = [];
    const sink = w.host!.net.createServer({ pauseOnConnect: true }, (s) => {
      held.push(s);
      s.on('error', () => {}); // the attacker's RST, or ECONNABORTED at close
    });
    await new Promise<void>((resolve) => sink.listen(SINK_PORT, SHOAL_IP, resolve));
    const spec: AttackSpec = { mode: 'inorder', port: SINK_PORT, conns: 1, segments: 40_000, rate: FLOOD_RATE, minSeconds: 0, maxSeconds: 10 };
    const o = await attack(t, w, spec);
    assert.equal(o.attackError, null, 'the attacker ran to its end');
    assert.equal(o.flooded!.established, 1, 'the attacker connected to Shoal');
    assert.equal(held.length, 1, 'Shoal accepted the connection');
    assert.equal(held[0]!.bytesRead, 0, 'the application read nothing');
    // 40,000 bytes are far less than the window Shoal offered (256 KiB): it must take them.
    assert.equal(o.flooded!.ackedMin, spec.segments, `Shoal acknowledged all ${spec.segments} bytes sent in order within its window (it acknowledged ${o.flooded!.ackedMin})`);
    checkCommon(o);
  });
});

/** Shoal's echo server; the attacker's connections end with its RSTs (or at close), which are no failure. */
async function listenEcho(w: TapWorld): Promise<void> {
  const echo = w.host!.net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((resolve) => echo.listen(ECHO_PORT, SHOAL_IP, resolve));
}

function checkCommon(o: Observed): void {
  assert.equal(o.pingBefore, 2, 'Shoal answered ping before the attack');
  assert.ok(o.pingDuring >= PINGS_DURING - 2, `Shoal answered ping during the attack (${o.pingDuring} of ${PINGS_DURING})`);
  assert.equal(o.pingAfter, PINGS_AFTER, `Shoal answered ping after the attack (${o.pingAfter} of ${PINGS_AFTER})`);
  assert.ok(
    o.poolAfter <= o.poolBaseline + POOL_SLACK,
    `after the attacker's RSTs the TAP receive frames came back: ${o.poolAfter} in use, ${o.poolBaseline} before the attack (the posted buffers)`,
  );
  assert.equal(o.echo, null, `a new connection from the kernel echoes ${ECHO_BYTES} bytes after the attack`);
}

/**
 * Runs one attack and records what the kernel side and Shoal show; asserts nothing, so
 * that everything is seen (and printed) before the first failure.
 */
async function attack(t: TestContext, w: TapWorld, spec: AttackSpec): Promise<Observed> {
  const pool = rxPool(w);
  const last = spec.conns - 1 + ATTACK_SPORT;
  const o: Observed = {
    flooded: null, done: null, attackError: null, pingBefore: 0, pingDuring: 0, pingAfter: 0,
    poolBaseline: 0, poolUnderAttack: 0, poolAfter: 0, echo: null,
  };
  // Before: ARP both ways, and the frames in use at rest.
  o.pingBefore = await ping(w, 2);
  o.poolBaseline = pool.inUse;
  await w.exec('iptables', ['-A', 'OUTPUT', '-p', 'tcp', '--tcp-flags', 'RST', 'RST', '-d', SHOAL_IP, '--sport', `${ATTACK_SPORT}:${last}`, '-m', 'mark', '!', '--mark', ATTACK_MARK, '-j', 'DROP']);

  const attacker = new Attacker(
    w.spawn('python3', [ATTACKER, spec.mode, KERNEL_IP, SHOAL_IP, String(spec.port), String(ATTACK_SPORT), String(spec.conns), String(spec.segments), String(spec.rate), String(spec.minSeconds), String(spec.maxSeconds)]),
  );
  try {
    await attacker.next('READY', 8_000);
    const during = ping(w, PINGS_DURING);
    o.flooded = await attacker.next('FLOODED', (spec.maxSeconds + 5) * 1000);
    o.pingDuring = await during;
    o.poolUnderAttack = pool.inUse;
    attacker.stdin.end('reset\n');
    o.done = await attacker.next('DONE', 5_000);
  } catch (e) {
    o.attackError = (e as Error).message;
  }
  // Back to the baseline once the RSTs are in (bounded wait).
  for (let i = 0; i < 30 && pool.inUse > o.poolBaseline + POOL_SLACK; i++) await sleep(100);
  o.poolAfter = pool.inUse;
  o.pingAfter = await ping(w, PINGS_AFTER);
  o.echo = await echoCheck(w);

  const tap = w.tap!.counters();
  const tcp = w.host!.stack.counters().tcp;
  const { stdout: kernelLink } = await w.exec('ip', ['-s', '-o', 'link', 'show', 'dev', w.tapName]).catch(() => ({ stdout: '' }));
  const txDropped = /TX:.*?\\\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(kernelLink);
  t.diagnostic(
    `${spec.mode}: attacker ${JSON.stringify(o.done ?? o.flooded)}${o.attackError !== null ? ` error: ${o.attackError}` : ''}; ` +
      `ping before ${o.pingBefore}/2, during ${o.pingDuring}/${PINGS_DURING}, after ${o.pingAfter}/${PINGS_AFTER}; ` +
      `TAP rx pool inUse ${o.poolBaseline} before, ${o.poolUnderAttack} under attack, ${o.poolAfter} after the RSTs (of ${pool.slotCount}; ${JSON.stringify(pool.counters())}); ` +
      `TAP queue rxFrames ${w.tap!.totals().rxFrames}, rxNoBuffer ${tap.rxNoBuffer}, rxDrops ${w.tap!.totals().rxDrops}; kernel TX dropped on the TAP ${txDropped?.[4] ?? '?'}; ` +
      `Shoal TCP segmentsIn ${tcp.segmentsIn}, bytesIn ${tcp.bytesIn}, drops ${JSON.stringify(tcp.drops)}, resetsReceived ${tcp.resetsReceived}, ESTABLISHED ${tcp.states.ESTABLISHED}; ` +
      `echo after: ${o.echo ?? 'ok'}`,
  );
  return o;
}

/** The TAP queue's pool of MTU-sized receive frames (the first of its receive pools). */
function rxPool(w: TapWorld): FramePool {
  return w.tap!.queues[0]!.rxPools[0]!;
}

/** The kernel pings Shoal `count` times, 0.2 s apart, waiting 1 s for each: the replies. */
async function ping(w: TapWorld, count: number): Promise<number> {
  let out: string;
  try {
    out = (await w.exec('ping', ['-n', '-q', '-c', String(count), '-i', '0.2', '-W', '1', SHOAL_IP], 15_000)).stdout;
  } catch (e) {
    out = (e as { stdout?: string }).stdout ?? ''; // ping exits 1 when replies were missing
  }
  const m = /(\d+) packets transmitted, (\d+) (packets )?received/.exec(out);
  return m === null ? 0 : Number(m[2]);
}

const ECHO_CLIENT = `
const net = require('node:net');
const { createHash, randomBytes } = require('node:crypto');
const [host, port, size] = process.argv.slice(1);
const out = randomBytes(Number(size));
const h = createHash('sha256');
let bytes = 0;
const s = net.connect({ host, port: Number(port), allowHalfOpen: true }, () => s.end(out));
s.on('data', (d) => { bytes += d.length; h.update(d); });
s.on('end', () => {
  console.log(JSON.stringify({ sent: createHash('sha256').update(out).digest('hex'), received: h.digest('hex'), bytes }));
  process.exit(0);
});
s.on('error', (e) => { console.error(e.message); process.exit(2); });
setTimeout(() => { console.error('timed out after 5 s'); process.exit(3); }, 5000).unref();
`;

/** A node:net client in the namespace sends ECHO_BYTES to Shoal's echo server and compares what comes back: null when equal, else why not. */
async function echoCheck(w: TapWorld): Promise<string | null> {
  try {
    const { stdout } = await w.exec('node', ['-e', ECHO_CLIENT, SHOAL_IP, String(ECHO_PORT), String(ECHO_BYTES)], 10_000);
    const r = JSON.parse(stdout.trim()) as { sent: string; received: string; bytes: number };
    if (r.bytes !== ECHO_BYTES) return `${r.bytes} bytes came back of ${ECHO_BYTES}`;
    return r.sent === r.received ? null : 'the bytes that came back differ (SHA-256)';
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return `the kernel's client failed: ${(err.stderr ?? '').trim() || err.message}`;
  }
}

/** rx-attack.py's tagged JSON lines, in order. */
class Attacker {
  private out = '';
  private err = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private exited: number | null | undefined = undefined;

  constructor(private readonly p: ChildProcess) {
    p.stdout!.on('data', (d: Buffer) => {
      this.out += d.toString();
      let nl: number;
      while ((nl = this.out.indexOf('\n')) >= 0) {
        this.lines.push(this.out.slice(0, nl));
        this.out = this.out.slice(nl + 1);
      }
      this.waiter?.();
    });
    p.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    p.once('exit', (code) => {
      this.exited = code;
      this.waiter?.();
    });
    p.stdin!.on('error', () => {}); // EPIPE if it is gone
  }

  get stdin(): NodeJS.WritableStream {
    return this.p.stdin!;
  }

  /** The JSON of the next line tagged `tag` (lines before it are skipped). */
  async next(tag: string, timeoutMs: number): Promise<AttackSummary> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.lines.length > 0) {
        const line = this.lines.shift()!;
        if (line.startsWith(`${tag} `)) return JSON.parse(line.slice(tag.length + 1)) as AttackSummary;
      }
      if (this.exited !== undefined) throw new Error(`rx-attack.py exited with ${this.exited} before ${tag}: ${this.err.trim()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`rx-attack.py: no ${tag} within ${timeoutMs} ms ${this.err.trim()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
