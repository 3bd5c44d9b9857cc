/**
 * ICMPv4 (RFC 792, RFC 1122 §3.2.2): echo replies of any size reassembly allows,
 * errors about what we received (port and protocol unreachable, reassembly time
 * exceeded), rate-limited as Linux does, and errors about what we sent, handed to the
 * sending protocol (fragmentation-needed lowers the path MTU).
 *
 * RFC 1122 §3.2.2: never an error about an ICMP error, a broadcast, or a fragment
 * other than the first. Like Linux (icmp_echo_ignore_broadcasts) we do not answer
 * broadcast echo requests. IPv4 has already dropped datagrams from martian sources.
 */

import { Packet } from '../packet/packet.js';
import { PacketRing } from '../packet/ring.js';
import { readU16, readU32, type Ipv4Address } from '../wire/addr.js';
import { packetChecksum as checksumOf } from '../packet/checksum.js';
import {
  ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_HEADER_LENGTH, ICMP_PARAMETER_PROBLEM, ICMP_TIME_EXCEEDED,
  echoRest, isIcmpError,
} from '../wire/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPV4_HEADER_LENGTH, type Ipv4Header } from '../wire/ipv4.js';
import { writeU16, writeU32 } from '../wire/addr.js';
import type { StackEnv } from './env.js';
import type { IcmpErrorSender, Ipv4 } from './ipv4.js';
import type { L4Out, L4Protocol } from './l4.js';
import { L4_HEADROOM } from './l4.js';

export interface IcmpCounters {
  inMsgs: number;
  inErrors: number;
  inCsumErrors: number;
  inEchos: number;
  inEchoReps: number;
  inDestUnreachs: number;
  inTimeExcds: number;
  outMsgs: number;
  outEchoReps: number;
  outDestUnreachs: number;
  outTimeExcds: number;
  /** Errors not sent: over the rate limit. */
  rateLimited: number;
  /** Replies dropped: the output queue was full or no frame was free. */
  outDrops: number;
}

export interface IcmpOptions {
  /** Errors sent per second at most, and the burst (default 1000 and 50, Linux icmp_msgs_per_sec/burst). */
  errorsPerSecond?: number;
  errorBurst?: number;
  /** Messages waiting to be sent (default 256). */
  queue?: number;
}

export type EchoReplyHandler = (src: Ipv4Address, id: number, seq: number, payload: Uint8Array, now: number) => void;

/** RFC 1812 §4.3.2.3: an error carries as much of the original as fits in 576 bytes. */
const ERROR_MAX = 576 - IPV4_HEADER_LENGTH - ICMP_HEADER_LENGTH;

export class Icmp implements L4Protocol, IcmpErrorSender {
  readonly protocol = IPPROTO_ICMP;
  readonly counters: IcmpCounters = {
    inMsgs: 0, inErrors: 0, inCsumErrors: 0, inEchos: 0, inEchoReps: 0, inDestUnreachs: 0, inTimeExcds: 0,
    outMsgs: 0, outEchoReps: 0, outDestUnreachs: 0, outTimeExcds: 0, rateLimited: 0, outDrops: 0,
  };
  private readonly queue: PacketRing;
  /** Destination of each queued message, in the same order. */
  private readonly dsts: number[] = [];
  private readonly rate: number;
  private readonly burst: number;
  private tokens: number;
  private refilled = 0;
  onEchoReply: EchoReplyHandler | null = null;

  constructor(
    private readonly env: StackEnv,
    private readonly ipv4: Ipv4,
    options: IcmpOptions = {},
  ) {
    this.rate = options.errorsPerSecond ?? 1000;
    this.burst = options.errorBurst ?? 50;
    this.tokens = this.burst;
    this.queue = new PacketRing(options.queue ?? 256);
  }

  receive(p: Packet, src: Ipv4Address, dst: Ipv4Address, now: number): void {
    const c = this.counters;
    c.inMsgs++;
    if (p.length < ICMP_HEADER_LENGTH) {
      c.inErrors++;
      p.release();
      return;
    }
    if (checksumOf(p, 0) !== 0) {
      c.inCsumErrors++;
      c.inErrors++;
      p.release();
      return;
    }
    const at = p.front(ICMP_HEADER_LENGTH);
    const b = p.bufs[0]!;
    const type = b[at]!;
    const code = b[at + 1]!;
    const rest = readU32(b, at + 4);
    if (type === ICMP_ECHO_REQUEST) {
      c.inEchos++;
      if (dst === this.ipv4.address) this.reply(p, src, rest);
    } else if (type === ICMP_ECHO_REPLY) {
      c.inEchoReps++;
      if (this.onEchoReply !== null) {
        const data = new Uint8Array(p.length - ICMP_HEADER_LENGTH);
        p.copyTo(data, 0, ICMP_HEADER_LENGTH);
        this.onEchoReply(src, rest >>> 16, rest & 0xffff, data, now);
      }
    } else if (type === ICMP_DEST_UNREACHABLE || type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETER_PROBLEM) {
      if (type === ICMP_DEST_UNREACHABLE) c.inDestUnreachs++;
      if (type === ICMP_TIME_EXCEEDED) c.inTimeExcds++;
      this.errorReceived(p, type, code, rest, now);
    }
    p.release();
  }

  /** Sends an echo request (ping) of `payload` to `dst`; false when it could not be queued. */
  sendEcho(dst: Ipv4Address, id: number, seq: number, payload: Uint8Array): boolean {
    const p = this.build(ICMP_ECHO_REQUEST, 0, echoRest(id, seq), 0);
    if (p === null) return false;
    // The data is copied (the caller may reuse its buffer), into a buffer of its own when large.
    if (payload.length <= p.tailroom) p.bufs[0]!.set(payload, p.append(payload.length));
    else p.appendFragment(payload.slice(), 0, payload.length);
    this.finish(p);
    return this.enqueue(p, dst);
  }

  sendError(type: number, code: number, rest: number, h: Ipv4Header, hdr: Uint8Array, hdrAt: number, data: Packet, dataFrom: number, now: number): void {
    // RFC 1122 §3.2.2: not about ICMP errors, broadcasts (IP or link layer), later
    // fragments, or datagrams whose source does not name a single host.
    if (h.fragmentOffset !== 0 || h.dst !== this.ipv4.address || data.linkBroadcast || this.ipv4.isMartian(h.src)) return;
    if (h.protocol === IPPROTO_ICMP && data.length > dataFrom && isIcmpError(data.byteAt(dataFrom))) return;
    if (!this.take(now)) {
      this.counters.rateLimited++;
      return;
    }
    const hl = h.headerLength;
    const dataLen = Math.min(data.length - dataFrom, ERROR_MAX - hl);
    const p = this.build(type, code, rest, hl + dataLen);
    if (p === null) return;
    const at = p.offs[0]! + ICMP_HEADER_LENGTH;
    p.bufs[0]!.set(hdr.subarray(hdrAt, hdrAt + hl), at);
    data.copyTo(p.bufs[0]!, at + hl, dataFrom, dataLen);
    this.finish(p);
    if (type === ICMP_DEST_UNREACHABLE) this.counters.outDestUnreachs++;
    if (type === ICMP_TIME_EXCEEDED) this.counters.outTimeExcds++;
    this.enqueue(p, h.src);
  }

  pull(out: L4Out, _now: number): Packet | null {
    const p = this.queue.shift();
    if (p === null) return null;
    out.dst = this.dsts.shift()!;
    out.src = this.ipv4.address;
    out.df = false;
    out.tos = 0;
    out.ttl = 0;
    this.counters.outMsgs++;
    return p;
  }

  private reply(request: Packet, to: Ipv4Address, rest: number): void {
    // The reply carries the request's data as a view: no copy, and the request's frame
    // (perhaps seen by others) is not written.
    const header = Packet.alloc(this.env.pool, L4_HEADROOM);
    if (header === null) {
      this.counters.outDrops++;
      return;
    }
    const at = header.append(ICMP_HEADER_LENGTH);
    const b = header.bufs[0]!;
    b[at] = ICMP_ECHO_REPLY;
    b[at + 1] = 0;
    writeU16(b, at + 2, 0);
    writeU32(b, at + 4, rest);
    const n = request.length - ICMP_HEADER_LENGTH;
    // Short of receive memory, the data is copied (when it fits) so the request's frame
    // goes back now, not after an ARP resolution the reply may wait for.
    if (n <= header.tailroom && this.env.rxMemory.pressure) request.copyTo(header.bufs[0]!, header.append(n), ICMP_HEADER_LENGTH, n);
    else header.appendShared(request, ICMP_HEADER_LENGTH, n);
    writeU16(b, at + 2, checksumOf(header, 0));
    this.counters.outEchoReps++;
    this.enqueue(header, to);
  }

  private errorReceived(p: Packet, type: number, code: number, rest: number, now: number): void {
    // The original IP header and at least 8 bytes of its data (RFC 792).
    const at = p.front(Math.min(p.length, ICMP_HEADER_LENGTH + 60 + 8));
    const b = p.bufs[0]!;
    const o = at + ICMP_HEADER_LENGTH;
    const avail = p.length - ICMP_HEADER_LENGTH;
    if (avail < IPV4_HEADER_LENGTH || b[o]! >>> 4 !== 4) {
      this.counters.inErrors++;
      return;
    }
    const hl = (b[o]! & 0x0f) << 2;
    if (hl < IPV4_HEADER_LENGTH || avail < hl + 8) {
      this.counters.inErrors++;
      return;
    }
    const protocol = b[o + 9]!;
    const src = readU32(b, o + 12);
    if (!this.env.isLocal(src)) {
      this.counters.inErrors++;
      return;
    }
    const l4 = o + hl;
    this.ipv4.deliverError(
      {
        type,
        code,
        mtu: rest & 0xffff,
        src,
        dst: readU32(b, o + 16),
        srcPort: readU16(b, l4),
        dstPort: readU16(b, l4 + 2),
        seq: protocol === IPPROTO_TCP ? readU32(b, l4 + 4) : 0,
      },
      protocol,
      now,
    );
  }

  /** An ICMP message with room for `bodyLength` bytes after the header; null when no frame is free. */
  private build(type: number, code: number, rest: number, bodyLength: number): Packet | null {
    const p = Packet.alloc(this.env.pool, L4_HEADROOM);
    if (p === null || p.tailroom < ICMP_HEADER_LENGTH + bodyLength) {
      p?.release();
      this.counters.outDrops++;
      return null;
    }
    const at = p.append(ICMP_HEADER_LENGTH + bodyLength);
    const b = p.bufs[0]!;
    b[at] = type;
    b[at + 1] = code;
    writeU16(b, at + 2, 0);
    writeU32(b, at + 4, rest);
    return p;
  }

  private finish(p: Packet): void {
    const at = p.offs[0]!;
    writeU16(p.bufs[0]!, at + 2, checksumOf(p, 0));
  }

  private enqueue(p: Packet, dst: Ipv4Address): boolean {
    if (!this.queue.push(p)) {
      this.counters.outDrops++;
      p.release();
      return false;
    }
    this.dsts.push(dst);
    this.env.wake();
    return true;
  }

  /** A token of the error rate limit (a bucket refilled at `rate` per second). */
  private take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilled) * this.rate) / 1000);
    this.refilled = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  clear(): void {
    this.queue.clear();
    this.dsts.length = 0;
  }
}
