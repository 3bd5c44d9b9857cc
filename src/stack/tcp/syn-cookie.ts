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
 * What survives: the MSS (the largest table entry not above the client's). Window
 * scaling and SACK-permitted would need the timestamp option (Linux hides them in the
 * low bits of the SYN-ACK's TSval); this stack has no timestamps yet, so a connection
 * made from a cookie has neither (its receive window is then at most 64 KiB).
 *
 * The SYN-ACKs wait in a small bounded queue for pull (like the connection-less RSTs);
 * a SYN that finds it full is dropped and counted as a backlog drop.
 */
import { Packet } from '../../packet/packet.js';
import { writeU16, writeU32 } from '../../wire/addr.js';
import { TCP_ACK, TCP_SYN } from '../../wire/tcp.js';
import type { StackEnv } from '../env.js';
import { L4_HEADROOM, type L4Out } from '../l4.js';
import { IsnGenerator } from './isn.js';
import { finishSegmentChecksum } from './segment.js';

/** Linux's msstab (net/ipv4/syncookies.c). */
export const COOKIE_MSS_TABLE: readonly number[] = Object.freeze([536, 1300, 1440, 1460]);
/** Counter period (ms). */
export const COOKIE_PERIOD = 64_000;
/** Previous counter values still accepted (Linux MAX_SYNCOOKIE_AGE). */
export const COOKIE_MAX_AGE = 2;
/** How long after a SYN queue overflow ACKs to a listener are checked as cookies (ms; Linux TCP_SYNCOOKIE_VALID, 2 min). */
export const COOKIE_VALID = 120_000;

const QUEUE = 256;
const FIELDS = 8;

/** The table index for a client's MSS (the SYN's option; 536 when it sent none). */
export function cookieMssIndex(mss: number): number {
  const t = COOKIE_MSS_TABLE;
  let i = t.length - 1;
  while (i > 0 && mss < t[i]!) i--;
  return i;
}

export class SynCookies {
  private readonly h: IsnGenerator;
  private readonly q = new Uint32Array(QUEUE * FIELDS);
  private head = 0;
  private count = 0;

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
    return this.count;
  }

  /** Queues a SYN-ACK; false when the queue is full. */
  queueSynAck(local: number, remote: number, localPort: number, remotePort: number, seq: number, ack: number, mss: number, window: number): boolean {
    if (this.count >= QUEUE) return false;
    const i = ((this.head + this.count) % QUEUE) * FIELDS;
    const r = this.q;
    r[i] = local;
    r[i + 1] = remote;
    r[i + 2] = localPort;
    r[i + 3] = remotePort;
    r[i + 4] = seq;
    r[i + 5] = ack;
    r[i + 6] = mss;
    r[i + 7] = window;
    this.count++;
    return true;
  }

  /** The next queued SYN-ACK as a packet (MSS option only), or null (nothing queued, or no frame: it stays queued). */
  build(env: StackEnv, out: L4Out): Packet | null {
    if (this.count === 0) return null;
    const p = Packet.alloc(env.pool, L4_HEADROOM);
    if (p === null) return null;
    const i = this.head * FIELDS;
    const r = this.q;
    const local = r[i]!;
    const remote = r[i + 1]!;
    this.head = (this.head + 1) % QUEUE;
    this.count--;
    const at = p.append(24);
    const b = p.bufs[0]!;
    writeU16(b, at, r[i + 2]!);
    writeU16(b, at + 2, r[i + 3]!);
    writeU32(b, at + 4, r[i + 4]!);
    writeU32(b, at + 8, r[i + 5]!);
    b[at + 12] = 6 << 4;
    b[at + 13] = TCP_SYN | TCP_ACK;
    writeU16(b, at + 14, r[i + 7]!);
    b[at + 16] = b[at + 17] = b[at + 18] = b[at + 19] = 0;
    b[at + 20] = 2;
    b[at + 21] = 4;
    writeU16(b, at + 22, r[i + 6]!);
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
    this.head = this.count = 0;
  }
}
