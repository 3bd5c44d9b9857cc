/**
 * IPv4 for one shard (RFC 791, RFC 1122 §3.2): receive checks the header, trims
 * Ethernet padding, lets packet filters claim what they want (DHCP before we have an
 * address), reassembles fragments, and delivers to ICMP/UDP/TCP by protocol number.
 * Transmit pulls from those protocols in turn, routes (on-link, or through the
 * gateway), fragments what exceeds the MTU (views of the payload, no copy), puts the
 * header in the packet's headroom, and resolves the next hop with ARP.
 *
 * We are a host, not a router: datagrams for other addresses are counted and dropped.
 */

import { Packet } from '../packet/packet.js';
import { IPV4_BROADCAST, prefixMask, readU16, readU32, type Ipv4Address } from '../wire/addr.js';
import { packetChecksum } from '../packet/checksum.js';
import { emitIpv4Header, IPPROTO_TCP, IPPROTO_UDP, IPV4_HEADER_LENGTH, newIpv4Header, parseIpv4HeaderInto, type Ipv4Fields, type Ipv4Header } from '../wire/ipv4.js';
import { UDP_CHECKSUM_OFFSET } from '../wire/udp.js';
import { ICMP_DEST_UNREACHABLE, ICMP_FRAGMENTATION_NEEDED, ICMP_HOST_UNREACHABLE, ICMP_NET_UNREACHABLE, ICMP_PROTOCOL_UNREACHABLE, ICMP_REASSEMBLY_TIME_EXCEEDED, ICMP_TIME_EXCEEDED } from '../wire/icmp.js';
import { newIpv4Counters, type Ipv4Counters } from './counters.js';
import type { Arp } from './arp.js';
import type { StackEnv } from './env.js';
import type { L3Receiver, L3Source, NetworkInterface } from './interface.js';
import type { IcmpErrorInfo, L4Out, L4Protocol } from './l4.js';
import { Reassembly, type ReassemblyOptions } from './reassembly.js';

/** A handler that may claim an IPv4 packet before the stack sees it; true = claimed (it owns `p`). */
export type PacketFilter = (p: Packet, h: Ipv4Header, now: number) => boolean;

/**
 * Sends ICMP errors about datagrams we received (implemented by the ICMP module): the
 * error quotes the header (`hdr` at `hdrAt`) and the start of the data (`data` from `dataFrom`).
 */
export interface IcmpErrorSender {
  sendError(type: number, code: number, rest: number, h: Ipv4Header, hdr: Uint8Array, hdrAt: number, data: Packet, dataFrom: number, now: number): void;
}

export interface Ipv4Options {
  /** TTL of what we send (default 64, Linux ip_default_ttl). */
  ttl?: number;
  reassembly?: ReassemblyOptions;
  /** Path MTUs remembered (default 1024) and for how long (ms, default 600000, Linux mtu_expires). */
  pmtuEntries?: number;
  pmtuExpiresMs?: number;
  /**
   * This stack's share of the identification space, for shards that send from one
   * address (default: all of it): IDs ≡ `index` mod `count`, so no two shards give the
   * same ID to datagrams whose fragments may be in flight together (RFC 6864 §4.1).
   */
  idSpace?: { index: number; count: number };
}

/** RFC 1191 allows 68; like Linux (min_pmtu) we ignore reports below 552, which an attacker could use to make us send tiny segments. */
const MIN_PMTU = 552;

export class Ipv4 implements L3Receiver, L3Source {
  readonly counters: Ipv4Counters = newIpv4Counters();
  address: Ipv4Address = 0;
  prefix = 0;
  gateway: Ipv4Address = 0;
  private mask = 0;
  private readonly protocols: (L4Protocol | undefined)[] = new Array(256);
  private readonly order: L4Protocol[] = [];
  private next = 0;
  private readonly filters: PacketFilter[] = [];
  private readonly rxHeader: Ipv4Header = newIpv4Header();
  private readonly out: L4Out = { src: 0, dst: 0, df: false, tos: 0, ttl: 0 };
  private readonly header: Ipv4Fields = { dscp: 0, ecn: 0, totalLength: 0, id: 0, df: false, mf: false, fragmentOffset: 0, ttl: 64, protocol: 0, src: 0, dst: 0, options: null };
  /** The next identification: idBase + idSlot × idStride (idSpace). */
  private readonly idBase: number;
  private readonly idStride: number;
  private readonly idSlots: number;
  private idSlot: number;
  private readonly ttl: number;
  private readonly pmtu = new Map<Ipv4Address, { mtu: number; expires: number }>();
  private readonly pmtuEntries: number;
  private readonly pmtuExpiresMs: number;
  readonly reassembly: Reassembly;
  /**
   * A datagram just reassembled (its IPv4 header first, no longer a fragment): a sharded
   * stack hands it to the shard its 4-tuple steers to (Seastar's "forward twice": the
   * fragments met on the shard of their 2-tuple). True when it was taken.
   */
  onReassembled: ((p: Packet, now: number) => boolean) | null = null;
  icmp: IcmpErrorSender | null = null;
  /** The header of the datagram being delivered, still in its frame, for an ICMP error the protocol may ask for. */
  private current: Ipv4Header | null = null;
  private currentBytes: Uint8Array | null = null;
  private currentAt = 0;

  constructor(
    private readonly env: StackEnv,
    private readonly iface: NetworkInterface,
    private readonly arp: Arp,
    options: Ipv4Options = {},
  ) {
    this.ttl = options.ttl ?? 64;
    const space = options.idSpace ?? { index: 0, count: 1 };
    if (!(Number.isInteger(space.count) && space.count >= 1 && space.count <= 256 && Number.isInteger(space.index) && space.index >= 0 && space.index < space.count)) {
      throw new RangeError(`idSpace must have 1 <= count <= 256 and 0 <= index < count, not ${space.index} of ${space.count}`);
    }
    this.idBase = space.index;
    this.idStride = space.count;
    this.idSlots = Math.floor((0x10000 - space.index + space.count - 1) / space.count);
    this.idSlot = env.random.int(this.idSlots);
    this.pmtuEntries = options.pmtuEntries ?? 1024;
    this.pmtuExpiresMs = options.pmtuExpiresMs ?? 600_000;
    this.reassembly = new Reassembly(env, this.counters, options.reassembly);
    this.reassembly.onTimeout = (h, header, first, now) =>
      this.icmp?.sendError(ICMP_TIME_EXCEEDED, ICMP_REASSEMBLY_TIME_EXCEEDED, 0, h, header, 0, first, 0, now);
  }

  register(protocol: L4Protocol): void {
    this.protocols[protocol.protocol] = protocol;
    this.order.push(protocol);
  }

  addFilter(f: PacketFilter): void {
    this.filters.push(f);
  }

  removeFilter(f: PacketFilter): void {
    const i = this.filters.indexOf(f);
    if (i >= 0) this.filters.splice(i, 1);
  }

  setAddress(address: Ipv4Address, prefix: number, gateway: Ipv4Address = 0): void {
    this.address = address;
    this.prefix = prefix;
    this.mask = prefixMask(prefix);
    this.gateway = gateway;
  }

  isLocal(a: Ipv4Address): boolean {
    return a === this.address && a !== 0;
  }

  /** The subnet's directed broadcast address (none on /31 and /32 links, RFC 3021). */
  get broadcast(): Ipv4Address {
    return this.prefix <= 30 ? (this.address | ~this.mask) >>> 0 : IPV4_BROADCAST;
  }

  /**
   * A source no host may send from (RFC 1122 §3.2.1.3): 0 (allowed only to what a
   * filter such as DHCP claims first), broadcasts, multicast and class E, loopback,
   * and our own address. We neither take such datagrams nor answer them.
   */
  isMartian(src: Ipv4Address): boolean {
    const top = src >>> 24;
    return src === 0 || src === IPV4_BROADCAST || src === this.broadcast || top >= 224 || top === 127 || src === this.address;
  }

  /** Where a datagram for `dst` goes next: `dst` itself on-link, the gateway otherwise; -1 without a route. */
  nextHop(dst: Ipv4Address): number {
    if (dst === IPV4_BROADCAST || dst === this.broadcast) return IPV4_BROADCAST;
    if (this.address !== 0 && ((dst ^ this.address) & this.mask) === 0) return dst;
    return this.gateway !== 0 ? this.gateway : -1;
  }

  sourceFor(dst: Ipv4Address): Ipv4Address | null {
    return this.address !== 0 && this.nextHop(dst) >= 0 ? this.address : null;
  }

  pathMtu(dst: Ipv4Address, now = this.env.clock.now()): number {
    const e = this.pmtu.get(dst);
    if (e === undefined) return this.env.features.mtu;
    if (e.expires <= now) {
      this.pmtu.delete(dst);
      return this.env.features.mtu;
    }
    return e.mtu;
  }

  // --- receive ---

  receive(p: Packet, now: number): void {
    const c = this.counters;
    c.inReceives++;
    let at = p.front(IPV4_HEADER_LENGTH);
    if (at < 0) {
      c.inTruncated++;
      p.release();
      return;
    }
    const hl = (p.bufs[0]![at]! & 0x0f) << 2;
    if (hl > IPV4_HEADER_LENGTH) at = p.front(Math.min(hl, p.length));
    // One header object for every datagram: what keeps it past this call copies it.
    const h = this.rxHeader;
    // A device that checks IPv4 header checksums (rxCsumIp) marks what it verified.
    const err = parseIpv4HeaderInto(p.bufs[0]!, at, p.length, h, p.csumVerified && this.env.features.rxCsumIp);
    if (err !== null) {
      if (err === 'truncated') c.inTruncated++;
      else if (err === 'bad-checksum') c.inCsumErrors++;
      else c.inHdrErrors++;
      p.release();
      return;
    }
    // Bytes past the total length are Ethernet padding (RFC 894 minimum frame size).
    if (p.length > h.totalLength) p.trimBack(p.length - h.totalLength);
    for (let i = 0; i < this.filters.length; i++) if (this.filters[i]!(p, h, now)) return;
    const dst = h.dst;
    if (this.address === 0 || (dst !== this.address && dst !== IPV4_BROADCAST && dst !== this.broadcast)) {
      c.inAddrErrors++;
      p.release();
      return;
    }
    if (this.isMartian(h.src)) {
      c.inMartians++;
      p.release();
      return;
    }
    if (h.mf || h.fragmentOffset !== 0) {
      const whole = this.reassembly.add(p, h, now);
      if (whole !== null && !this.onReassembled?.(whole, now)) this.receive(whole, now);
      return;
    }
    this.deliver(p, h, now);
  }

  private deliver(p: Packet, h: Ipv4Header, now: number): void {
    const proto = this.protocols[h.protocol];
    if (proto === undefined) {
      this.counters.inUnknownProtos++;
      // RFC 1122 §3.2.2.1: protocol unreachable, never about a broadcast.
      if (h.dst === this.address && !p.linkBroadcast) this.icmp?.sendError(ICMP_DEST_UNREACHABLE, ICMP_PROTOCOL_UNREACHABLE, 0, h, p.bufs[0]!, p.offs[0]!, p, h.headerLength, now);
      p.release();
      return;
    }
    // TCP is unicast only (RFC 1122 §4.2.3.10): a segment sent to a broadcast, at the IP
    // or the link layer, gets neither a connection nor a RST.
    if (h.protocol === IPPROTO_TCP && (h.dst !== this.address || p.linkBroadcast)) {
      this.counters.inAddrErrors++;
      p.release();
      return;
    }
    this.counters.inDelivers++;
    this.current = h;
    this.currentBytes = p.bufs[0]!;
    this.currentAt = p.offs[0]!;
    p.trimFront(h.headerLength);
    proto.receive(p, h.src, h.dst, now);
    this.current = null;
    this.currentBytes = null;
  }

  /**
   * Destination unreachable about the datagram being delivered (`data` is its L4 part):
   * for a protocol that finds nobody to take it (UDP port unreachable). Only to a
   * datagram sent to our own address, never to a broadcast (RFC 1122 §3.2.2).
   */
  unreachable(code: number, data: Packet, now: number): void {
    const h = this.current;
    if (h === null || this.icmp === null || h.dst !== this.address || data.linkBroadcast) return;
    this.icmp.sendError(ICMP_DEST_UNREACHABLE, code, 0, h, this.currentBytes!, this.currentAt, data, 0, now);
  }

  /** An ICMP error about a datagram we sent: remember a smaller path MTU, and tell the protocol. */
  deliverError(info: IcmpErrorInfo, protocol: number, now: number): void {
    if (info.type === ICMP_DEST_UNREACHABLE && info.code === ICMP_FRAGMENTATION_NEEDED) {
      const current = this.pathMtu(info.dst, now);
      if (info.mtu < MIN_PMTU || info.mtu >= current) return;
      if (this.pmtu.size >= this.pmtuEntries && !this.pmtu.has(info.dst)) this.pmtu.delete(this.pmtu.keys().next().value!);
      this.pmtu.set(info.dst, { mtu: info.mtu, expires: now + this.pmtuExpiresMs });
    }
    this.protocols[protocol]?.icmpError?.(info, now);
  }

  // --- transmit ---

  pull(now: number): Packet | null {
    const n = this.order.length;
    // Each protocol in turn; a packet that waits for ARP or is dropped lets the next one try.
    for (let tries = 0; tries < 64; tries++) {
      let p: Packet | null = null;
      let proto: L4Protocol | null = null;
      for (let k = 0; k < n; k++) {
        const candidate = this.order[this.next]!;
        if (++this.next === n) this.next = 0;
        p = candidate.pull(this.out, now);
        if (p !== null) {
          proto = candidate;
          break;
        }
      }
      if (p === null || proto === null) return null;
      const frame = this.output(p, proto.protocol, this.out, now);
      if (frame !== null) return frame;
      // Fragments went to the interface's ready queue: they go first, in order.
      if (this.iface.queued > 0) return null;
    }
    return null;
  }

  /**
   * Sends an L4 packet: route, header, fragments, ARP. Returns the frame when it can
   * go now, or null when it was queued (ARP, fragments in the ready queue) or dropped.
   */
  output(p: Packet, protocol: number, out: L4Out, now: number): Packet | null {
    const c = this.counters;
    c.outRequests++;
    const hop = this.nextHop(out.dst);
    if (hop < 0) {
      c.outNoRoutes++;
      this.localError(p, protocol, out, ICMP_NET_UNREACHABLE, 0, now);
      p.release();
      return null;
    }
    const mtu = this.pmtu.size === 0 ? this.env.features.mtu : this.pathMtu(out.dst, now);
    const total = IPV4_HEADER_LENGTH + p.length;
    const h = this.header;
    h.dscp = out.tos >>> 2;
    h.ecn = out.tos & 3;
    h.df = out.df;
    h.mf = false;
    h.fragmentOffset = 0;
    h.ttl = out.ttl || this.ttl;
    h.protocol = protocol;
    h.src = out.src;
    h.dst = out.dst;
    h.id = this.idBase + this.idSlot * this.idStride;
    this.idSlot = this.idSlot + 1 === this.idSlots ? 0 : this.idSlot + 1;
    if (total > mtu && p.gsoSize === 0) {
      if (out.df) {
        c.fragFails++;
        this.localError(p, protocol, out, ICMP_FRAGMENTATION_NEEDED, mtu, now);
        p.release();
        return null;
      }
      this.fragment(p, hop, mtu, now);
      return null;
    }
    h.totalLength = total;
    const at = p.prepend(IPV4_HEADER_LENGTH);
    emitIpv4Header(h, p.bufs[0]!, at, !this.env.features.txCsumIp);
    return this.arp.resolve(hop, p, now);
  }

  /** Cuts `p` (an L4 datagram) into fragments of at most `mtu` bytes (RFC 791 §3.2), each a view of the payload. */
  private fragment(p: Packet, hop: Ipv4Address, mtu: number, now: number): void {
    const c = this.counters;
    const h = this.header;
    // The L4 checksum covers the whole datagram: finish it before cutting.
    if (p.csumStart >= 0) finishChecksum(p);
    const chunk = (mtu - IPV4_HEADER_LENGTH) & ~7;
    const pieces: Packet[] = [];
    for (let off = 0; off < p.length; off += chunk) {
      const len = Math.min(chunk, p.length - off);
      const f = Packet.alloc(this.env.pool);
      if (f === null) {
        c.fragFails++;
        for (const x of pieces) x.release();
        p.release();
        return;
      }
      f.appendShared(p, off, len);
      h.mf = off + len < p.length;
      h.fragmentOffset = off;
      h.totalLength = IPV4_HEADER_LENGTH + len;
      const at = f.prepend(IPV4_HEADER_LENGTH);
      emitIpv4Header(h, f.bufs[0]!, at);
      pieces.push(f);
    }
    p.release();
    c.fragOks++;
    c.fragCreates += pieces.length;
    for (const f of pieces) {
      const frame = this.arp.resolve(hop, f, now);
      if (frame !== null) this.iface.send(frame);
    }
  }

  /** Tells the sending protocol about an error found before the packet left (no route, DF too big, ARP failure). */
  private localError(p: Packet, protocol: number, out: L4Out, code: number, mtu: number, now: number): void {
    const info = l4Info(p, 0, protocol, out.src, out.dst);
    if (info === null) return;
    info.type = ICMP_DEST_UNREACHABLE;
    info.code = code;
    info.mtu = mtu;
    this.protocols[protocol]?.icmpError?.(info, now);
  }

  /** ARP gave up on `hop`: every waiting datagram's sender hears "host unreachable". */
  arpFailed(packets: Packet[], now: number): void {
    for (const p of packets) {
      const at = p.front(IPV4_HEADER_LENGTH);
      if (at < 0) continue;
      const b = p.bufs[0]!;
      const protocol = b[at + 9]!;
      const hl = (b[at]! & 0x0f) << 2;
      const info = l4Info(p, hl, protocol, readU32(b, at + 12), readU32(b, at + 16));
      if (info === null || readU16(b, at + 6) & 0x1fff) continue;
      info.type = ICMP_DEST_UNREACHABLE;
      info.code = ICMP_HOST_UNREACHABLE;
      this.protocols[protocol]?.icmpError?.(info, now);
    }
  }

  /** Drops state (the stack is being torn down). */
  clear(): void {
    this.reassembly.clear();
    this.pmtu.clear();
  }
}

/** The ports (and TCP sequence number) of the L4 header at `off` in `p`. */
function l4Info(p: Packet, off: number, protocol: number, src: Ipv4Address, dst: Ipv4Address): IcmpErrorInfo | null {
  const needed = protocol === IPPROTO_TCP ? 8 : 4;
  if (p.length < off + needed) return null;
  const at = p.front(off + needed);
  const b = p.bufs[0]!;
  const ports = protocol === IPPROTO_TCP || protocol === IPPROTO_UDP;
  return {
    type: 0,
    code: 0,
    mtu: 0,
    src,
    dst,
    srcPort: ports ? readU16(b, at + off) : 0,
    dstPort: ports ? readU16(b, at + off + 2) : 0,
    seq: protocol === IPPROTO_TCP ? readU32(b, at + off + 4) : 0,
  };
}

/**
 * Computes an L4 checksum the device was asked to finish (`csumStart`/`csumOffset`;
 * the field holds the pseudo-header sum), for when the packet cannot go as it is.
 */
export function finishChecksum(p: Packet): void {
  const field = p.csumStart + p.csumOffset;
  let sum = packetChecksum(p, p.csumStart);
  // RFC 768: a UDP checksum that computes to 0 is sent as all ones (0 means "none").
  if (sum === 0 && p.csumOffset === UDP_CHECKSUM_OFFSET) sum = 0xffff;
  // The field lies in the headers, perhaps across fragments: write it byte by byte.
  writeAt(p, field, sum >>> 8);
  writeAt(p, field + 1, sum & 0xff);
  p.csumStart = -1;
  p.csumOffset = 0;
}

function writeAt(p: Packet, at: number, v: number): void {
  for (let i = 0; i < p.fragmentCount; i++) {
    if (at < p.lens[i]!) {
      p.bufs[i]![p.offs[i]! + at] = v;
      return;
    }
    at -= p.lens[i]!;
  }
}

