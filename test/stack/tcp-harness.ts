/**
 * Two `Tcp` instances joined directly (no IPv4/Ethernet), for TCP tests until the full
 * `Stack` exists: each host has its own StackEnv (shared VirtualClock, own TimerSet and
 * FramePool); a Pipe per direction pulls segments from one Tcp and hands copies (in a
 * fresh frame of the receiver's pool, as a wire would) to the other's receive, with
 * seeded loss, duplication, reordering, corruption, delay and a rate limit, bounded.
 * A TSO super-frame is cut into MSS segments on the way, unless the pipe emulates LRO.
 */
import { createHash } from 'node:crypto';
import { FramePool } from '../../src/packet/pool.js';
import { Packet } from '../../src/packet/packet.js';
import type { DeviceFeatures, Pollable } from '../../src/link/device.js';
import { evenRssTable } from '../../src/link/device.js';
import { DEFAULT_RSS_KEY } from '../../src/wire/toeplitz.js';
import { VirtualClock } from '../../src/time/clock.js';
import { EventLoop } from '../../src/time/loop.js';
import { TimerSet } from '../../src/time/timers.js';
import { Random } from '../../src/util/random.js';
import { readU32, writeU16, writeU32 } from '../../src/wire/addr.js';
import { addSums, finish, pseudoHeaderSum, sum16 } from '../../src/wire/checksum.js';
import type { StackEnv } from '../../src/stack/env.js';
import { ReceiveMemory } from '../../src/stack/receive-memory.js';
import { EphemeralPorts } from '../../src/stack/ports.js';
import type { L4Out } from '../../src/stack/l4.js';
import { Tcp, type TcpConnection, type TcpOptions } from '../../src/stack/tcp/index.js';
import { emitTcp, parseTcp, tcpHeaderLength, writeTcpChecksum, type TcpFields, type TcpHeader } from '../../src/wire/tcp.js';

export const A_ADDR = 0x0a000001;
export const B_ADDR = 0x0a000002;

export interface PipeFaults {
  loss?: number;
  duplicate?: number;
  /** Probability a segment is held back by `reorderDelay` ms. */
  reorder?: number;
  reorderDelay?: number;
  corrupt?: number;
  /** One-way delay (ms). */
  delay?: number;
  /** Bytes per ms (0: unlimited). 12_500 is 100 Mbit/s. */
  rate?: number;
  /** Most segments on the pipe at once (beyond: tail drop, counted). */
  limit?: number;
  /** Deliver TSO super-frames whole, checksums marked verified (LRO + rx csum offload). */
  lro?: boolean;
  /** Mark delivered segments csumVerified (rx checksum offload) and skip the checksum work. */
  verified?: boolean;
}

export function makeFeatures(over: Partial<DeviceFeatures> = {}): DeviceFeatures {
  return {
    mtu: 1500,
    rxCsumIp: false,
    rxCsumL4: false,
    txCsumIp: false,
    txCsumL4: false,
    tso: false,
    maxTsoSize: 65535,
    lro: false,
    rss: { key: DEFAULT_RSS_KEY, table: evenRssTable(1) },
    ...over,
  };
}

export class Host implements Pollable {
  readonly timers = new TimerSet();
  readonly pool: FramePool;
  /** 64 KB frames for super-frames delivered whole. */
  readonly largePool: FramePool;
  readonly env: StackEnv;
  readonly tcp: Tcp;
  wakes = 0;

  constructor(
    readonly address: number,
    readonly peer: number,
    clock: VirtualClock,
    seed: number,
    features: DeviceFeatures,
    options: TcpOptions | undefined,
    slots: number,
  ) {
    this.pool = new FramePool({ slots });
    this.largePool = new FramePool({ slotSize: 65536 + 256, slots: 64 });
    const mtus = new Map<number, number>();
    const self = this;
    const random = new Random(seed);
    this.env = {
      clock,
      timers: this.timers,
      pool: this.pool,
      features,
      rxMemory: new ReceiveMemory([this.pool]),
      random,
      ephemeralPorts: new EphemeralPorts(random),
      sourceFor: (dst) => (dst === peer || dst === 0x0a0000fe ? address : null),
      isLocal: (a) => a === address,
      pathMtu: (dst) => mtus.get(dst) ?? features.mtu,
      wake: () => {
        self.wakes++;
      },
    };
    this.tcp = new Tcp(this.env, options);
  }

  poll(now: number): number {
    return this.timers.runDue(now);
  }

  nextEventAt(): number {
    return this.timers.nextDue();
  }
}

interface InFlight {
  at: number;
  p: Packet;
}

export interface PipeCounters {
  segments: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  limitDrops: number;
  noBuffer: number;
}

export class Pipe implements Pollable {
  readonly counters: PipeCounters = { segments: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, corrupted: 0, limitDrops: 0, noBuffer: 0 };
  private q: InFlight[] = [];
  private nextFree = 0;
  private readonly out: L4Out = { src: 0, dst: 0, df: false, tos: 0, ttl: 0 };
  private readonly scratch = new Uint8Array(70_000);
  /** Called with each segment the sender pulls (a copy of its bytes, as the receiver will see them), for tests that watch the wire. */
  tap: ((bytes: Uint8Array, now: number) => void) | null = null;
  /** Drop the next segments for which this returns true (tests). */
  filter: ((bytes: Uint8Array) => boolean) | null = null;
  /** Stop pulling (a blocked link). */
  paused = false;

  constructor(
    readonly from: Host,
    readonly to: Host,
    public faults: PipeFaults,
    private readonly random: Random,
    private readonly clock: VirtualClock,
  ) {}

  get inFlight(): number {
    return this.q.length;
  }

  poll(now: number): number {
    let work = 0;
    const f = this.faults;
    const limit = f.limit ?? 100_000;
    for (let burst = 0; burst < 64 && !this.paused; burst++) {
      if ((f.rate ?? 0) > 0 && this.nextFree > now) break;
      const p = this.from.tcp.pull(this.out, now);
      if (p === null) break;
      work++;
      const src = this.out.src;
      const dst = this.out.dst;
      let at = now + (f.delay ?? 0);
      if ((f.rate ?? 0) > 0) {
        const start = this.nextFree > now ? this.nextFree : now;
        this.nextFree = start + (p.length + 40 + 14) / f.rate!;
        at = this.nextFree + (f.delay ?? 0);
      }
      if (f.lro || p.gsoSize === 0 || p.length - 20 <= p.gsoSize) {
        this.send(p, 0, p.length, src, dst, at, limit, p.gsoSize > 0 && !!f.lro);
      } else {
        // Cut the super-frame into segments (what a NIC's TSO does).
        const hl = (p.byteAt(12) >>> 4) << 2;
        for (let off = hl; off < p.length; off += p.gsoSize) {
          const n = Math.min(p.gsoSize, p.length - off);
          this.sendSegment(p, hl, off, n, off + n === p.length, src, dst, at, limit);
        }
      }
      p.release();
    }
    let delivered = 0;
    while (this.q.length > 0 && this.q[0]!.at <= now && delivered < 64) {
      const e = this.q.shift()!;
      this.counters.delivered++;
      delivered++;
      this.to.tcp.receive(e.p, this.from.address, this.to.address, now);
    }
    // The end of a receive burst: callbacks run now, once per burst (as the Stack does).
    if (delivered > 0) this.to.tcp.flush();
    return work + delivered;
  }

  nextEventAt(): number {
    const next = this.q.length > 0 ? this.q[0]!.at : Infinity;
    if (this.from.tcp.wantsToSend && !this.paused) {
      const t = Math.max(this.clock.now(), this.nextFree);
      return t < next ? t : next;
    }
    return next;
  }

  private sendSegment(p: Packet, hl: number, off: number, n: number, last: boolean, src: number, dst: number, at: number, limit: number): void {
    const b = this.scratch;
    p.copyTo(b, 0, 0, hl);
    p.copyTo(b, hl, off, n);
    writeU32(b, 4, (readU32(b, 4) + off - hl) >>> 0);
    if (!last) b[13] = b[13]! & ~0x09; // FIN and PSH on the last segment only
    b[16] = b[17] = 0;
    writeU16(b, 16, finish(addSums(pseudoHeaderSum(src, dst, 6, hl + n), sum16(b, 0, hl + n))));
    this.deliver(b, null, hl + n, at, limit, false);
  }

  private send(p: Packet, _off: number, len: number, _src: number, _dst: number, at: number, limit: number, whole: boolean): void {
    this.deliver(null, p, len, at, limit, whole);
  }

  /** Delivers `len` bytes from `b` (contiguous) or `p` (a pulled packet, copied straight into the receiver's frame). */
  private deliver(b: Uint8Array | null, p: Packet | null, len: number, at: number, limit: number, whole: boolean): void {
    const f = this.faults;
    const r = this.random;
    this.counters.segments++;
    if (this.tap !== null || this.filter !== null) {
      const bytes = b !== null ? b.slice(0, len) : p!.toBytes();
      if (p !== null && p.csumStart >= 0) writeU16(bytes, 16, finish(sum16(bytes, 0, len)));
      this.tap?.(bytes, this.clock.now());
      if (this.filter?.(bytes)) {
        this.counters.lost++;
        return;
      }
    }
    if (r.chance(f.loss ?? 0)) {
      this.counters.lost++;
      return;
    }
    const copies = r.chance(f.duplicate ?? 0) ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    for (let k = 0; k < copies; k++) {
      if (this.q.length >= limit) {
        this.counters.limitDrops++;
        return;
      }
      const pool = len > 1900 ? this.to.largePool : this.to.pool;
      const q = Packet.alloc(pool, 64);
      if (q === null) {
        this.counters.noBuffer++;
        return;
      }
      const o = q.append(len);
      const qb = q.bufs[0]!;
      if (b !== null) qb.set(b.subarray(0, len), o);
      else p!.copyTo(qb, o, 0, len);
      const verified = !!f.verified || whole;
      if (p !== null && p.csumStart >= 0 && !verified) {
        // Finish the partial checksum (the field holds the pseudo-header sum), as a NIC does.
        writeU16(qb, o + 16, finish(sum16(qb, o, len)));
      }
      if (r.chance(f.corrupt ?? 0)) {
        this.counters.corrupted++;
        const i = o + r.int(len);
        qb[i] = qb[i]! ^ 0x5a;
      } else if (verified) {
        q.csumVerified = true;
      }
      let t = at;
      if (r.chance(f.reorder ?? 0)) {
        this.counters.reordered++;
        t += f.reorderDelay ?? 2;
      }
      this.enqueue({ at: t, p: q });
    }
  }

  private enqueue(e: InFlight): void {
    const q = this.q;
    let i = q.length;
    while (i > 0 && q[i - 1]!.at > e.at) i--;
    q.splice(i, 0, e);
  }

  /** Releases what is still on the pipe. */
  clear(): void {
    for (const e of this.q) e.p.release();
    this.q = [];
  }
}

export interface PairOptions {
  seed: number;
  ab?: PipeFaults;
  ba?: PipeFaults;
  a?: TcpOptions;
  b?: TcpOptions;
  features?: Partial<DeviceFeatures>;
  slots?: number;
}

export class Pair {
  readonly clock = new VirtualClock();
  readonly loop: EventLoop;
  readonly a: Host;
  readonly b: Host;
  readonly ab: Pipe;
  readonly ba: Pipe;

  constructor(o: PairOptions) {
    const rnd = new Random(o.seed);
    const features = makeFeatures(o.features);
    const slots = o.slots ?? 8192;
    this.a = new Host(A_ADDR, B_ADDR, this.clock, rnd.nextU32(), features, o.a, slots);
    this.b = new Host(B_ADDR, A_ADDR, this.clock, rnd.nextU32(), features, o.b, slots);
    this.ab = new Pipe(this.a, this.b, o.ab ?? {}, new Random(rnd.nextU32()), this.clock);
    this.ba = new Pipe(this.b, this.a, o.ba ?? {}, new Random(rnd.nextU32()), this.clock);
    this.loop = new EventLoop(this.clock);
    this.loop.add(this.a);
    this.loop.add(this.b);
    this.loop.add(this.ab);
    this.loop.add(this.ba);
  }

  get now(): number {
    return this.clock.now();
  }

  /** Runs until `done()` or `until` ms of virtual time from now (default 10 min). */
  run(done?: () => boolean, forMs = 600_000): void {
    this.loop.runUntil({ until: this.clock.now() + forMs, done, maxPasses: 50_000_000 });
  }

  /** Runs `ms` of virtual time. */
  advance(ms: number): void {
    this.loop.runUntil({ until: this.clock.now() + ms, maxPasses: 50_000_000 });
  }

  /** Everything released, nothing armed, no state: asserted by tests at the end. */
  leaks(): string[] {
    const out: string[] = [];
    for (const [name, h] of [['a', this.a], ['b', this.b]] as const) {
      if (h.pool.inUse !== 0) out.push(`${name}.pool.inUse=${h.pool.inUse}`);
      if (h.largePool.inUse !== 0) out.push(`${name}.largePool.inUse=${h.largePool.inUse}`);
      if (h.pool.counters().doubleReleases !== 0) out.push(`${name}.doubleReleases=${h.pool.counters().doubleReleases}`);
      if (h.timers.size !== 0) out.push(`${name}.timers=${h.timers.size}`);
      if (h.tcp.connections !== 0) out.push(`${name}.connections=${h.tcp.connections}`);
      if (h.tcp.blocks.outstanding !== 0) out.push(`${name}.sendBlocks=${h.tcp.blocks.outstanding}`);
      if (h.tcp.counters.drops.internalError !== 0) out.push(`${name}.internalError=${h.tcp.counters.drops.internalError}`);
    }
    return out;
  }
}

/** Deterministic bytes. */
export function patternBytes(n: number, seed: number): Uint8Array {
  const r = new Random(seed);
  const b = new Uint8Array(n);
  const w = new Uint32Array(b.buffer, 0, n >>> 2);
  for (let i = 0; i < w.length; i++) w[i] = r.nextU32();
  for (let i = w.length * 4; i < n; i++) b[i] = r.nextU32() & 0xff;
  return b;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Writes all of `data` with back pressure (onWritable), then optionally shuts down. */
export function pump(c: TcpConnection, data: Uint8Array, then: 'shutdown' | 'close' | 'none' = 'shutdown', chunk = 65536): { written: () => number } {
  let off = 0;
  const go = (): void => {
    while (off < data.length) {
      const n = c.write(data, off, Math.min(chunk, data.length - off));
      off += n;
      if (n === 0) return;
    }
    if (then === 'shutdown') c.shutdown();
    else if (then === 'close') c.close();
  };
  c.onWritable = go;
  go();
  return { written: () => off };
}

/** Reads everything into a hash; resolves the digest at end. */
export function drain(c: TcpConnection, opts: { maxRead?: number } = {}): { bytes: () => number; digest: () => string | null; ended: () => boolean } {
  const h = createHash('sha256');
  let n = 0;
  let end = false;
  let digest: string | null = null;
  c.onReadable = () => {
    let b: Uint8Array | null;
    while ((b = c.read(opts.maxRead)) !== null) {
      h.update(b);
      n += b.length;
      if (opts.maxRead !== undefined) break;
    }
  };
  c.onEnd = () => {
    end = true;
    digest = h.digest('hex');
  };
  return { bytes: () => n, digest: () => digest, ended: () => end };
}

// ==================================================================== a scripted peer

export interface RawSegment extends TcpHeader {
  at: number;
  payload: Uint8Array;
  src: number;
  dst: number;
}

/**
 * One real Tcp (10.0.0.1) and a test that plays the peer (10.0.0.2) by hand: `send`
 * injects a segment, everything the Tcp transmits is pulled at once into `log` with its
 * time, `advance` moves virtual time through the timers.
 */
export class Raw {
  readonly clock = new VirtualClock();
  readonly host: Host;
  readonly log: RawSegment[] = [];
  private readonly out: L4Out = { src: 0, dst: 0, df: false, tos: 0, ttl: 0 };

  constructor(seed: number, options?: TcpOptions, features?: Partial<DeviceFeatures>) {
    this.host = new Host(A_ADDR, B_ADDR, this.clock, seed, makeFeatures(features), options, 4096);
  }

  get tcp(): Tcp {
    return this.host.tcp;
  }

  get now(): number {
    return this.clock.now();
  }

  /** Injects a segment from the peer (default source 10.0.0.2). */
  send(h: TcpFields, payload: Uint8Array = new Uint8Array(0), src = B_ADDR, corrupt = false): void {
    const hl = tcpHeaderLength(h);
    const p = Packet.alloc(this.host.pool, 64)!;
    const at = p.append(hl + payload.length);
    const b = p.bufs[0]!;
    emitTcp(h, b, at);
    b.set(payload, at + hl);
    writeTcpChecksum(src, A_ADDR, b, at, hl + payload.length);
    if (corrupt) b[at + hl + payload.length - 1] = b[at + hl + payload.length - 1]! ^ 0xff;
    this.host.tcp.receive(p, src, A_ADDR, this.now);
    this.pullAll();
  }

  /** Pulls everything the Tcp has to send now; returns (and clears) the log. */
  collect(): RawSegment[] {
    this.pullAll();
    return this.take();
  }

  private pullAll(): void {
    for (;;) {
      const p = this.host.tcp.pull(this.out, this.now);
      if (p === null) break;
      const bytes = p.toBytes();
      // A partial checksum is finished as a NIC would.
      if (p.csumStart >= 0) writeU16(bytes, p.csumStart + p.csumOffset, finish(sum16(bytes, p.csumStart, bytes.length - p.csumStart)));
      p.release();
      const h = parseTcp(bytes, 0, bytes.length, pseudoHeaderSum(this.out.src, this.out.dst, 6, bytes.length));
      if (typeof h === 'string') throw new Error(`the Tcp sent a bad segment: ${h}`);
      const s: RawSegment = { ...h, at: this.now, payload: bytes.slice(h.payloadOffset), src: this.out.src, dst: this.out.dst };
      this.log.push(s);
    }
  }

  /** Moves time forward `ms`, firing timers and collecting output as it goes; returns (and clears) the log. */
  advance(ms: number): RawSegment[] {
    const until = this.now + ms;
    for (;;) {
      const next = this.host.timers.nextDue();
      if (next > until) break;
      if (next > this.now) this.clock.advanceTo(next);
      this.host.timers.runDue(this.now);
      this.pullAll();
    }
    if (until > this.now) this.clock.advanceTo(until);
    this.pullAll();
    return this.take();
  }

  /** Takes the log (and clears it). */
  take(): RawSegment[] {
    return this.log.splice(0);
  }
}
