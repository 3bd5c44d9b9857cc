/**
 * IPv4 reassembly (RFC 791 §3.2, RFC 815 holes), with the defences a host needs
 * against hostile fragments (as Linux has them):
 * - a datagram that is not complete within `timeoutMs` (30 s, RFC 1122 §3.3.2's
 *   upper range, Linux ipfrag_time) is dropped;
 * - fragments that overlap one another drop the whole datagram (RFC 5722's rule,
 *   which Linux applies to IPv4 too), an exact duplicate is only ignored;
 * - a datagram that would exceed 65,535 bytes is dropped (the "ping of death");
 * - all datagrams under reassembly together hold at most `memoryLimit` bytes and at
 *   most `maxDatagrams`; beyond that new fragments are dropped and counted. A fragment
 *   is charged its truesize (the whole receive frame it sits in, as Linux), so a flood
 *   of tiny fragments cannot pin more than memoryLimit / 2048 frames: 1024 by default,
 *   a third of a memory device's receive pool; and while the stack is short of receive
 *   memory (receive-memory.ts) a fragment is copied out of its frame before it is kept.
 * Fragments are kept as they arrived (no copy); the whole datagram is one packet made
 * of their payload views behind a fresh copy of the first fragment's header.
 */

import { Packet } from '../packet/packet.js';
import { COMPACT_OVERHEAD, compactCopy } from '../packet/compact.js';
import type { Timer } from '../time/timers.js';
import type { Ipv4Address } from '../wire/addr.js';
import { emitIpv4Header, IPV4_HEADER_LENGTH, type Ipv4Header } from '../wire/ipv4.js';
import type { Ipv4Counters } from './counters.js';
import type { StackEnv } from './env.js';

export interface ReassemblyOptions {
  timeoutMs?: number;
  memoryLimit?: number;
  maxDatagrams?: number;
}

const MAX_DATAGRAM = 65535;

class Datagram {
  /** Payload pieces in offset order (IP header trimmed). */
  readonly pieces: Packet[] = [];
  readonly starts: number[] = [];
  /** The first fragment's header (offset 0), once it arrived. */
  header: Ipv4Header | null = null;
  headerBytes: Uint8Array | null = null;
  /** Payload length once the last fragment (MF clear) arrived, else -1. */
  total = -1;
  received = 0;
  bytes = 0;
  timer: Timer | null = null;

  constructor(readonly key: string) {}
}

export class Reassembly {
  private readonly datagrams = new Map<string, Datagram>();
  private readonly timeoutMs: number;
  private readonly memoryLimit: number;
  private readonly maxDatagrams: number;
  /** Bytes held by all datagrams under reassembly. */
  memory = 0;
  /** Told when a datagram whose first fragment arrived times out: its header and first piece. */
  onTimeout: ((h: Ipv4Header, header: Uint8Array, first: Packet, now: number) => void) | null = null;

  constructor(
    private readonly env: StackEnv,
    private readonly counters: Ipv4Counters,
    options: ReassemblyOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.memoryLimit = options.memoryLimit ?? 2 << 20;
    this.maxDatagrams = options.maxDatagrams ?? 1024;
  }

  get pending(): number {
    return this.datagrams.size;
  }

  /** Takes a fragment (`p` starts at its IP header); returns the whole datagram when this one completes it. */
  add(p: Packet, h: Ipv4Header, now: number): Packet | null {
    const c = this.counters;
    c.reasmReqds++;
    const payload = h.totalLength - h.headerLength;
    const start = h.fragmentOffset;
    const end = start + payload;
    const key = keyOf(h.src, h.dst, h.id, h.protocol);
    // Short of receive memory: the payload is kept as a compact copy, and its frame goes back.
    const copy = this.env.rxMemory.pressure && p.truesize > payload + COMPACT_OVERHEAD;
    const cost = copy ? payload + COMPACT_OVERHEAD : Math.max(p.length, p.truesize);
    let d = this.datagrams.get(key);
    if (end > MAX_DATAGRAM - IPV4_HEADER_LENGTH || (h.mf && (payload & 7) !== 0) || payload === 0) {
      // Too large (RFC 791 limit), or a middle fragment not a multiple of 8 bytes, or empty.
      c.reasmOversize++;
      c.reasmFails++;
      p.release();
      if (d !== undefined) this.discard(d);
      return null;
    }
    if (d === undefined) {
      if (this.datagrams.size >= this.maxDatagrams || this.memory + cost > this.memoryLimit) {
        c.reasmMemoryDrops++;
        p.release();
        return null;
      }
      d = new Datagram(key);
      this.datagrams.set(key, d);
      const datagram = d;
      d.timer = this.env.timers.create(() => this.expire(datagram));
      this.env.timers.arm(d.timer, now + this.timeoutMs);
    } else if (this.memory + cost > this.memoryLimit) {
      c.reasmMemoryDrops++;
      p.release();
      return null;
    }
    if (!h.mf) {
      // The last fragment fixes the length: a second, different one, or pieces already
      // held beyond it, make the datagram impossible (Linux ip_frag_queue).
      const last = d.starts.length > 0 ? d.starts[d.starts.length - 1]! + d.pieces[d.pieces.length - 1]!.length : 0;
      if ((d.total >= 0 && d.total !== end) || last > end) return this.fail(d, p);
      d.total = end;
    }
    if (d.total >= 0 && end > d.total) return this.fail(d, p);
    // Find the place; any overlap with a neighbour drops the datagram, an exact duplicate is ignored.
    let i = 0;
    while (i < d.starts.length && d.starts[i]! < start) i++;
    if (i < d.starts.length && d.starts[i] === start && d.pieces[i]!.length === payload) {
      p.release();
      return null;
    }
    if (i > 0 && d.starts[i - 1]! + d.pieces[i - 1]!.length > start) return this.fail(d, p, true);
    if (i < d.starts.length && end > d.starts[i]!) return this.fail(d, p, true);
    if (start === 0) {
      d.header = { ...h }; // the caller's header object is reused for the next datagram
      const hb = new Uint8Array(h.headerLength);
      p.copyTo(hb, 0, 0, h.headerLength);
      d.headerBytes = hb;
    }
    this.memory += cost;
    d.bytes += cost;
    p.trimFront(h.headerLength);
    if (copy) {
      p = compactCopy(p);
      c.reasmPressureCopies++;
    }
    d.pieces.splice(i, 0, p);
    d.starts.splice(i, 0, start);
    d.received += payload;
    if (d.total < 0 || d.received !== d.total || d.header === null) return null;
    return this.complete(d);
  }

  private complete(d: Datagram): Packet | null {
    const h = d.header!;
    this.remove(d);
    // Pieces never overlap and none lies past the end, so `received === total` means
    // no hole; the first fragment's header may make the whole too long (RFC 791).
    if (h.headerLength + d.total > MAX_DATAGRAM) {
      this.counters.reasmOversize++;
      this.counters.reasmFails++;
      for (const piece of d.pieces) piece.release();
      return null;
    }
    const whole = Packet.alloc(this.env.pool);
    if (whole === null) {
      this.counters.reasmFails++;
      for (const piece of d.pieces) piece.release();
      return null;
    }
    // A fresh header: the received frames are not ours to write (a view may be shared).
    const hl = h.headerLength;
    const at = whole.prepend(hl);
    whole.bufs[0]!.set(d.headerBytes!, at);
    emitIpv4Header({ ...h, totalLength: hl + d.total, mf: false, fragmentOffset: 0, options: hl > 20 ? d.headerBytes!.subarray(20) : null }, whole.bufs[0]!, at);
    for (const piece of d.pieces) whole.appendPacket(piece);
    whole.reassembled = true;
    this.counters.reasmOks++;
    return whole;
  }

  private fail(d: Datagram, p: Packet, overlap = false): null {
    if (overlap) this.counters.reasmOverlaps++;
    this.counters.reasmFails++;
    p.release();
    this.discard(d);
    return null;
  }

  private expire(d: Datagram): void {
    d.timer = null;
    this.counters.reasmTimeouts++;
    this.counters.reasmFails++;
    // RFC 1122 §3.3.2: time exceeded (code 1) when the first fragment had arrived.
    if (d.header !== null && this.onTimeout !== null) this.onTimeout(d.header, d.headerBytes!, d.pieces[0]!, this.env.clock.now());
    this.discard(d);
  }

  private discard(d: Datagram): void {
    this.remove(d);
    for (const piece of d.pieces) piece.release();
    d.pieces.length = 0;
  }

  private remove(d: Datagram): void {
    this.datagrams.delete(d.key);
    this.memory -= d.bytes;
    d.bytes = 0;
    if (d.timer !== null) this.env.timers.cancel(d.timer);
    d.timer = null;
  }

  clear(): void {
    for (const d of [...this.datagrams.values()]) this.discard(d);
  }
}

function keyOf(src: Ipv4Address, dst: Ipv4Address, id: number, protocol: number): string {
  return `${src}:${dst}:${id}:${protocol}`;
}
