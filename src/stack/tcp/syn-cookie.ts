/**
 * SYN cookies, as Linux with tcp_syncookies=1: used only when a listener's SYN queue is
 * full. The SYN is answered with a SYN-ACK whose ISN encodes what the connection needs,
 * and no state is kept; the ACK that completes the handshake brings the cookie back
 * (ack − 1), and a valid one creates the connection directly in ESTABLISHED.
 *
 * Cookie (32 bits):
 *   bits 31..27  a coarse counter, ⌊now / 64 s⌋ mod 32
 *   bits 26..24  an index into the MSS table (Linux's msstab: 536, 1300, 1440, 1460)
 *   bits 23..0   HalfSipHash-2-4 (isn.ts, keyed from the stack's random source) of the
 *                4-tuple, the client's ISN, the full counter and the index
 * A cookie is accepted while its counter is the current one or one of the previous
 * MAX_AGE (2, as Linux: up to 3 × 64 s old).
 *
 * What survives: the MSS (the largest table entry not above the client's), and, when
 * the client sent timestamps, its window scale and SACK-permitted, hidden as Linux does
 * in the low 6 bits of our SYN-ACK's TSval (4 bits of scale, 15 for none; 1 bit of
 * SACK), which the client's ACK echoes in TSecr. Without timestamps a cookie connection
 * has neither (its receive window is then at most 64 KiB), as on Linux.
 *
 * The SYN-ACKs wait in a small bounded queue for pull (like the connection-less RSTs);
 * a SYN that finds it full is dropped and counted as a backlog drop.
 */
import { Packet } from '../../packet/packet.js';
import { writeU16, writeU32 } from '../../wire/addr.js';
import { TCP_ACK, TCP_SYN } from '../../wire/tcp.js';
import { emitTcpOptions, tcpOptionsLength, type TcpOptions } from '../../wire/tcp-options.js';
import type { StackEnv } from '../env.js';
import { L4_HEADROOM, type L4Out } from '../l4.js';
import { IsnGenerator } from './isn.js';
import { finishSegmentChecksum } from './segment.js';
import { RecordQueue } from './record-queue.js';

/** Linux's msstab (net/ipv4/syncookies.c). */
export const COOKIE_MSS_TABLE: readonly number[] = Object.freeze([536, 1300, 1440, 1460]);
/** Counter period (ms). */
export const COOKIE_PERIOD = 64_000;
/** Previous counter values still accepted (Linux MAX_SYNCOOKIE_AGE). */
export const COOKIE_MAX_AGE = 2;
/** How long after a SYN queue overflow ACKs to a listener are checked as cookies (ms; Linux TCP_SYNCOOKIE_VALID, 2 min). */
export const COOKIE_VALID = 120_000;

const QUEUE = 256;
const FIELDS = 11;
/** Low TSval bits that carry the client's options (Linux TSMASK). */
const TS_OPTION_BITS = 0x3f;
const NO_WSCALE = 0xf;

/** Our SYN-ACK's TSval: the clock with the client's window scale (-1: none) and SACK-permitted in its low bits. */
export function cookieTsVal(clock: number, wscale: number, sack: boolean): number {
  return ((clock & ~TS_OPTION_BITS) | (wscale < 0 ? NO_WSCALE : wscale & 0xf) | (sack ? 0x10 : 0)) >>> 0;
}

/** What the echoed TSval says of the client's options. */
export function cookieTsOptions(tsEcr: number): { wscale: number; sack: boolean } {
  const w = tsEcr & 0xf;
  return { wscale: w === NO_WSCALE ? -1 : w, sack: (tsEcr & 0x10) !== 0 };
}

/** The table index for a client's MSS (the SYN's option; 536 when it sent none). */
export function cookieMssIndex(mss: number): number {
  const t = COOKIE_MSS_TABLE;
  let i = t.length - 1;
  while (i > 0 && mss < t[i]!) i--;
  return i;
}

export class SynCookies {
  private readonly h: IsnGenerator;
  private readonly q = new RecordQueue(QUEUE, FIELDS);
  private readonly options: TcpOptions = {};

  constructor(k0: number, k1: number) {
    this.h = new IsnGenerator(k0, k1);
  }

  /** A key derived from the ISN generator's (a different function of the same secret: no extra random draws). */
  static derivedFrom(isn: IsnGenerator): SynCookies {
    return new SynCookies(isn.hash3(0x73796e63, 0x6f6f6b69, 1), isn.hash3(0x73796e63, 0x6f6f6b69, 2));
  }

  private mac(local: number, localPort: number, remote: number, remotePort: number, clientIsn: number, counter: number, idx: number): number {
    return this.h.hash5(local, remote, ((localPort & 0xffff) << 16) | (remotePort & 0xffff), clientIsn, (counter << 3) | idx) & 0xffffff;
  }

  /** The cookie (our ISN) for a SYN with sequence number `clientIsn` and MSS option `mss` (-1: none). */
  make(local: number, localPort: number, remote: number, remotePort: number, clientIsn: number, mss: number, now: number): number {
    const counter = Math.floor(now / COOKIE_PERIOD);
    const idx = cookieMssIndex(mss > 0 ? mss : 536);
    return (((counter & 31) << 27) | (idx << 24) | this.mac(local, localPort, remote, remotePort, clientIsn, counter, idx)) >>> 0;
  }

  /** The MSS the cookie carries, or 0 when it is not one of ours (forged, for another 4-tuple or SYN, or too old). */
  check(local: number, localPort: number, remote: number, remotePort: number, clientIsn: number, cookie: number, now: number): number {
    const cur = Math.floor(now / COOKIE_PERIOD);
    const age = (cur - (cookie >>> 27)) & 31;
    if (age > COOKIE_MAX_AGE) return 0;
    const idx = (cookie >>> 24) & 7;
    if (idx >= COOKIE_MSS_TABLE.length) return 0;
    if (this.mac(local, localPort, remote, remotePort, clientIsn, cur - age, idx) !== (cookie & 0xffffff)) return 0;
    return COOKIE_MSS_TABLE[idx]!;
  }

  /** SYN-ACKs waiting for pull. */
  get pending(): number {
    return this.q.count;
  }

  /**
   * Queues a SYN-ACK; false when the queue is full. With timestamps (`ts`), it carries
   * TSval `tsVal` and echoes `tsEcr`, SACK-permitted if `sack`, and our window scale
   * `wscale` (-1: none).
   */
  queueSynAck(local: number, remote: number, localPort: number, remotePort: number, seq: number, ack: number, mss: number, window: number, ts = false, tsVal = 0, tsEcr = 0, sack = false, wscale = -1): boolean {
    const i = this.q.push();
    if (i < 0) return false;
    const r = this.q.data;
    r[i] = local;
    r[i + 1] = remote;
    r[i + 2] = localPort;
    r[i + 3] = remotePort;
    r[i + 4] = seq;
    r[i + 5] = ack;
    r[i + 6] = mss;
    r[i + 7] = window;
    r[i + 8] = (ts ? 1 : 0) | (sack ? 2 : 0) | (wscale >= 0 ? 4 | (wscale << 4) : 0);
    r[i + 9] = tsVal;
    r[i + 10] = tsEcr;
    return true;
  }

  /** The next queued SYN-ACK as a packet, or null (nothing queued, or no frame: it stays queued). */
  build(env: StackEnv, out: L4Out): Packet | null {
    if (this.q.count === 0) return null;
    const p = Packet.alloc(env.pool, L4_HEADROOM);
    if (p === null) return null;
    const i = this.q.shift();
    const r = this.q.data;
    const local = r[i]!;
    const remote = r[i + 1]!;
    const o = this.options;
    const flags = r[i + 8]!;
    o.mss = r[i + 6]!;
    o.sackPermitted = (flags & 2) !== 0 ? true : undefined;
    o.wscale = (flags & 4) !== 0 ? flags >>> 4 : undefined;
    o.tsVal = (flags & 1) !== 0 ? r[i + 9]! : undefined;
    o.tsEcr = (flags & 1) !== 0 ? r[i + 10]! : undefined;
    const hl = 20 + tcpOptionsLength(o);
    const at = p.append(hl);
    const b = p.bufs[0]!;
    writeU16(b, at, r[i + 2]!);
    writeU16(b, at + 2, r[i + 3]!);
    writeU32(b, at + 4, r[i + 4]!);
    writeU32(b, at + 8, r[i + 5]!);
    b[at + 12] = (hl >>> 2) << 4;
    b[at + 13] = TCP_SYN | TCP_ACK;
    writeU16(b, at + 14, r[i + 7]!);
    b[at + 16] = b[at + 17] = b[at + 18] = b[at + 19] = 0;
    emitTcpOptions(o, b, at + 20);
    finishSegmentChecksum(p, at, local, remote, env.features.txCsumL4);
    out.src = local;
    out.dst = remote;
    out.df = true;
    out.tos = 0;
    out.ttl = 0;
    return p;
  }

  /** Forgets what is queued (the stack is torn down). */
  clear(): void {
    this.q.clear();
  }
}
