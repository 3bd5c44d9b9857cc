/**
 * UDP (RFC 768, RFC 1122 §4.1): sockets bound to a port, datagrams sent with a
 * checksum (made by the device when it offloads), received with the checksum checked
 * (0 means the sender sent none), a receive queue per socket bounded in bytes, and ICMP
 * port unreachable (rate-limited by ICMP) when nobody listens.
 *
 * As Linux does, and as node:dgram users expect of it:
 * - several sockets may share a port when their local addresses do not overlap, or
 *   when all of them set SO_REUSEADDR; a unicast datagram goes to the best match
 *   (bound address, then connected peer; the newest on a tie), a broadcast to every
 *   socket that matches (RFC 1122 §4.1.3.5 leaves the choice to the host);
 * - sending to a broadcast address (255.255.255.255, RFC 919, or the subnet's) needs
 *   SO_BROADCAST, else EACCES; a broadcast is also delivered to this host's sockets;
 * - datagrams to this host (our address, 127.0.0.0/8, 0.0.0.0) never touch the link:
 *   they are delivered at the next pass of the loop, as the loopback device would;
 * - an ICMP port (or protocol) unreachable is reported to a connected socket only.
 */

import { Packet } from '../packet/packet.js';
import { packetChecksum } from '../packet/checksum.js';
import type { Timer } from '../time/timers.js';
import { IPV4_ANY, IPV4_BROADCAST, readU16, writeU16, type Ipv4Address } from '../wire/addr.js';
import { pseudoHeaderSum } from '../wire/checksum.js';
import { IPPROTO_UDP } from '../wire/ipv4.js';
import { UDP_CHECKSUM_OFFSET, UDP_HEADER_LENGTH } from '../wire/udp.js';
import { ICMP_DEST_UNREACHABLE, ICMP_PORT_UNREACHABLE, ICMP_PROTOCOL_UNREACHABLE } from '../wire/icmp.js';
import type { StackEnv } from './env.js';
import type { Ipv4 } from './ipv4.js';
import { L4_HEADROOM, type IcmpErrorInfo, type L4Out, type L4Protocol } from './l4.js';
import { UdpOutbox } from './udp-outbox.js';
import { UDP_BUFFER_DEFAULT, UdpError, UdpSocket, type UdpBufferLimits, type UdpRoute, type UdpSocketHost } from './udp-socket.js';

export { UdpSocket, UdpError, UDP_BUFFER_DEFAULT, UDP_MIN_RCVBUF, UDP_MIN_SNDBUF, type Datagram, type UdpRoute } from './udp-socket.js';

export interface UdpCounters {
  inDatagrams: number;
  noPorts: number;
  inErrors: number;
  inCsumErrors: number;
  /** Dropped: the socket's receive queue was full (Linux RcvbufErrors). */
  rcvbufErrors: number;
  outDatagrams: number;
  /** Not sent: the socket's send buffer or the send queue was full, or no memory (Linux SndbufErrors). */
  sndbufErrors: number;
}

export interface UdpOptions {
  /** Datagrams waiting to be sent, for all sockets (default 1024). */
  sendQueue?: number;
  /** Datagrams to this host waiting for the next pass (default 1000, Linux netdev_max_backlog). */
  loopbackQueue?: number;
  /** A new socket's receive buffer in bytes (default 212,992, Linux rmem_default). */
  receiveBuffer?: number;
  /** A new socket's send buffer in bytes (default 212,992, Linux wmem_default). */
  sendBuffer?: number;
  /** The largest buffer a socket may ask for, before Linux's doubling (default 212,992, rmem_max). */
  bufferMax?: number;
}

export interface OpenOptions {
  /** SO_REUSEADDR. */
  reuseAddr?: boolean;
}

/** Largest UDP payload over IPv4: 65,535 − 20 − 8. */
export const UDP_MAX_PAYLOAD = 65507;
const LOOPBACK: Ipv4Address = 0x7f00_0001;
/** How much later what is sent during a loopback delivery is delivered (ms). */
const LOOPBACK_NEXT_PASS_MS = 0.001;

/** A bound socket as /proc/net/udp shows it: queues in bytes, and the datagrams dropped at its receive queue. */
export interface UdpSocketInfo {
  localAddress: Ipv4Address;
  localPort: number;
  remoteAddress: Ipv4Address;
  remotePort: number;
  txQueue: number;
  rxQueue: number;
  drops: number;
}


interface LoopbackDatagram {
  data: Uint8Array;
  src: Ipv4Address;
  srcPort: number;
  dst: Ipv4Address;
  dstPort: number;
  sender: UdpSocket;
}

function isLoopback(a: Ipv4Address): boolean {
  return a >>> 24 === 127;
}

/** Linux compute_score: a socket matches when what it bound and connected to agree; each of them counts. -1: no match. */
function score(s: UdpSocket, src: Ipv4Address, srcPort: number, dst: Ipv4Address): number {
  let sc = 0;
  if (s.localAddress !== IPV4_ANY) {
    if (s.localAddress !== dst) return -1;
    sc += 4;
  }
  if (s.remotePort !== 0) {
    if (s.remoteAddress !== src || s.remotePort !== srcPort) return -1;
    sc += 8;
  }
  return sc;
}

function byteLength(data: Uint8Array | readonly Uint8Array[]): number {
  if (data instanceof Uint8Array) return data.length;
  let n = 0;
  for (const d of data) n += d.length;
  return n;
}

/** `data` copied into one new array (the application may reuse its buffers once send returns). */
function gather(data: Uint8Array | readonly Uint8Array[], length: number): Uint8Array {
  if (data instanceof Uint8Array) return data.slice();
  const out = new Uint8Array(length);
  let at = 0;
  for (const d of data) {
    out.set(d, at);
    at += d.length;
  }
  return out;
}

/** A copy of the datagram's payload (the application keeps it; the frame goes back to its pool). */
function payloadOf(p: Packet, length: number): Uint8Array {
  const data = new Uint8Array(length - UDP_HEADER_LENGTH);
  p.copyTo(data, 0, UDP_HEADER_LENGTH);
  p.release();
  return data;
}

export class Udp implements L4Protocol, UdpSocketHost {
  readonly protocol = IPPROTO_UDP;
  readonly counters: UdpCounters = { inDatagrams: 0, noPorts: 0, inErrors: 0, inCsumErrors: 0, rcvbufErrors: 0, outDatagrams: 0, sndbufErrors: 0 };
  /** Sockets by local port, the newest first. */
  private readonly ports = new Map<number, UdpSocket[]>();
  private readonly outbox: UdpOutbox;
  private loopback: LoopbackDatagram[] = [];
  private loopbackSpare: LoopbackDatagram[] = [];
  private readonly loopbackLimit: number;
  private readonly loopbackTimer: Timer;
  private flushing = false;
  private readonly limits: UdpBufferLimits;
  private readonly routed: UdpRoute = { src: 0, dst: 0, local: false, broadcast: false };
  /** What `sendFrom`'s datagrams are charged to while queued (no socket's send buffer). */
  private readonly rawCharge = { sendQueuedBytes: 0, sendQueuedCount: 0 };

  constructor(
    private readonly env: StackEnv,
    private readonly ipv4: Ipv4,
    options: UdpOptions = {},
  ) {
    this.outbox = new UdpOutbox(options.sendQueue ?? 1024);
    this.loopbackLimit = options.loopbackQueue ?? 1000;
    this.loopbackTimer = env.timers.create((now) => this.flushLoopback(now));
    this.limits = {
      receiveBuffer: options.receiveBuffer ?? UDP_BUFFER_DEFAULT,
      sendBuffer: options.sendBuffer ?? UDP_BUFFER_DEFAULT,
      bufferMax: options.bufferMax ?? UDP_BUFFER_DEFAULT,
    };
  }

  open(options: OpenOptions = {}): UdpSocket {
    const s = new UdpSocket(this, this.limits);
    s.reuseAddr = options.reuseAddr ?? false;
    return s;
  }

  /** Addresses a socket may bind (Linux inet_bind): any, ours, loopback, broadcast and multicast; else EADDRNOTAVAIL. */
  private bindable(a: Ipv4Address): boolean {
    return a === IPV4_ANY || this.env.isLocal(a) || isLoopback(a) || a === IPV4_BROADCAST || a === this.ipv4.broadcast || a >>> 28 === 0xe;
  }

  /**
   * Claims `port` (0: an ephemeral one) on `address` for `s`. Two sockets conflict when
   * their addresses overlap (equal, or either is any) unless both set SO_REUSEADDR
   * (Linux udp_lib_lport_inuse): EADDRINUSE.
   */
  bindPort(s: UdpSocket, port: number, address: Ipv4Address, local = 0, remote = 0, remotePort = 0): number {
    if (!this.bindable(address)) throw new UdpError('EADDRNOTAVAIL', 'not an address of this host');
    if (port === 0) {
      const free = (p: number): boolean => !this.ports.has(p);
      port = remote !== 0 ? this.env.ephemeralPorts.anyToward(local, remote, remotePort, free) : this.env.ephemeralPorts.any(free);
      if (port === 0) throw new UdpError('EADDRINUSE', 'no free ephemeral UDP port');
    } else if (!(port >= 1 && port <= 0xffff)) {
      throw new UdpError('EINVAL', `not a port: ${port}`);
    }
    const list = this.ports.get(port);
    if (list === undefined) {
      this.ports.set(port, [s]);
      return port;
    }
    for (const o of list) {
      const overlap = o.localAddress === IPV4_ANY || address === IPV4_ANY || o.localAddress === address;
      if (overlap && !(o.reuseAddr && s.reuseAddr)) throw new UdpError('EADDRINUSE', `UDP port ${port} is in use`);
    }
    list.unshift(s);
    return port;
  }

  unbind(s: UdpSocket): void {
    const list = this.ports.get(s.localPort);
    if (list === undefined) return;
    const i = list.indexOf(s);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.ports.delete(s.localPort);
  }

  /**
   * Where a datagram from `s` to `dst` goes (Linux ip_route_output plus udp_sendmsg's
   * checks): to this host, or out with the source address to use. Throws EACCES for a
   * broadcast without SO_BROADCAST, ENETUNREACH without a route, EINVAL for a loopback
   * source sending out.
   */
  route(s: UdpSocket, dst: Ipv4Address): UdpRoute {
    const r = this.routed;
    const bound = s.localAddress;
    // sendto(0.0.0.0) reaches this host: the bound address, else loopback.
    if (dst === IPV4_ANY) dst = bound !== IPV4_ANY ? bound : LOOPBACK;
    r.dst = dst;
    r.broadcast = false;
    if (isLoopback(dst) || this.env.isLocal(dst)) {
      r.local = true;
      r.src = bound !== IPV4_ANY ? bound : isLoopback(dst) ? LOOPBACK : dst;
      return r;
    }
    r.local = false;
    if (isLoopback(bound)) throw new UdpError('EINVAL', 'a socket bound to loopback sends only to this host');
    if (dst === IPV4_BROADCAST || dst === this.ipv4.broadcast) {
      if (!s.broadcast) throw new UdpError('EACCES', 'sending to a broadcast address needs SO_BROADCAST (setBroadcast)');
      r.broadcast = true;
    }
    const src = this.env.sourceFor(dst);
    if (src === null) throw new UdpError('ENETUNREACH', 'no route to the destination');
    r.src = bound !== IPV4_ANY ? bound : src;
    return r;
  }

  send(s: UdpSocket, data: Uint8Array | readonly Uint8Array[], address: Ipv4Address, port: number): boolean {
    const length = byteLength(data);
    if (length > UDP_MAX_PAYLOAD) throw new UdpError('EMSGSIZE', `a UDP datagram holds at most ${UDP_MAX_PAYLOAD} bytes, got ${length}`);
    // An unbound socket is bound first (Linux inet_autobind): a random port, which on a
    // shard is one whose replies steer back to it (so the destination is looked at).
    if (s.localPort === 0) s.autoBind(this.env.sourceFor(address) ?? 0, address, port);
    const r = this.route(s, address);
    const { src, dst, local, broadcast } = r;
    if (!s.canSend) {
      this.counters.sndbufErrors++;
      return false;
    }
    if (local) return this.queueLoopback(s, gather(data, length), src, dst, port);
    const p = this.build(s.localPort, data, length, src, dst, port);
    if (p === null || !this.outbox.push(p, src, dst, s.ttl, s, length)) {
      p?.release();
      this.counters.sndbufErrors++;
      return false;
    }
    // A broadcast is also heard here (Linux ip_mc_output loops RTCF_BROADCAST back).
    if (broadcast) this.queueLoopback(s, gather(data, length), src, dst, port);
    this.env.wake();
    return true;
  }

  /**
   * Sends a datagram with the addresses given, past sockets and routing checks: for
   * DHCP, which sends from 0.0.0.0 to 255.255.255.255 before we have an address (RFC
   * 2131 §4.1; 255.255.255.255 goes out as an Ethernet broadcast). `data` is copied.
   * False when the send queue is full or the pool is empty.
   */
  sendFrom(data: Uint8Array, src: Ipv4Address, srcPort: number, dst: Ipv4Address, dstPort: number): boolean {
    if (data.length > UDP_MAX_PAYLOAD) throw new UdpError('EMSGSIZE', `a UDP datagram holds at most ${UDP_MAX_PAYLOAD} bytes, got ${data.length}`);
    const p = this.build(srcPort, data, data.length, src, dst, dstPort);
    if (p === null || !this.outbox.push(p, src, dst, 0, this.rawCharge, data.length)) {
      p?.release();
      this.counters.sndbufErrors++;
      return false;
    }
    this.env.wake();
    return true;
  }

  /** The datagram in a packet from the pool, checksummed (or left to the device). */
  private build(srcPort: number, data: Uint8Array | readonly Uint8Array[], length: number, src: Ipv4Address, dst: Ipv4Address, port: number): Packet | null {
    const p = Packet.alloc(this.env.pool, L4_HEADROOM);
    if (p === null) return null;
    const len = UDP_HEADER_LENGTH + length;
    const at = p.append(UDP_HEADER_LENGTH);
    const b = p.bufs[0]!;
    if (length > p.tailroom) {
      p.appendFragment(gather(data, length), 0, length);
    } else if (data instanceof Uint8Array) {
      b.set(data, p.append(length));
    } else {
      let o = p.append(length);
      for (const d of data) {
        b.set(d, o);
        o += d.length;
      }
    }
    writeU16(b, at, srcPort);
    writeU16(b, at + 2, port);
    writeU16(b, at + 4, len);
    const pseudo = pseudoHeaderSum(src, dst, IPPROTO_UDP, len);
    if (this.env.features.txCsumL4) {
      // The device finishes it (virtio NEEDS_CSUM): the field holds the pseudo-header sum.
      writeU16(b, at + UDP_CHECKSUM_OFFSET, pseudo);
      p.csumStart = 0;
      p.csumOffset = UDP_CHECKSUM_OFFSET;
    } else {
      writeU16(b, at + UDP_CHECKSUM_OFFSET, 0);
      writeU16(b, at + UDP_CHECKSUM_OFFSET, packetChecksum(p, 0, pseudo) || 0xffff);
    }
    return p;
  }

  /** Queues a datagram for this host's sockets, delivered at the next pass (never inside send). */
  private queueLoopback(s: UdpSocket, data: Uint8Array, src: Ipv4Address, dst: Ipv4Address, dstPort: number): boolean {
    if (this.loopback.length >= this.loopbackLimit) {
      this.counters.sndbufErrors++;
      return false;
    }
    this.loopback.push({ data, src, srcPort: s.localPort, dst, dstPort, sender: s });
    s.sendQueuedBytes += data.length;
    s.sendQueuedCount++;
    if (!this.loopbackTimer.armed) {
      // What a delivery sends goes a moment later, not in this run of the timers: two
      // sockets of this host answering each other cannot hold the loop in one pass.
      const now = this.env.clock.now();
      this.env.timers.arm(this.loopbackTimer, this.flushing ? now + LOOPBACK_NEXT_PASS_MS : now);
    }
    this.env.wake();
    return true;
  }

  private flushLoopback(_now: number): void {
    const batch = this.loopback;
    this.loopback = this.loopbackSpare;
    this.flushing = true;
    for (let i = 0; i < batch.length; i++) {
      const d = batch[i]!;
      d.sender.sendQueuedBytes -= d.data.length;
      d.sender.sendQueuedCount--;
      this.counters.outDatagrams++;
      try {
        if (!this.demux(d.data, d.src, d.srcPort, d.dst, d.dstPort)) {
          this.counters.noPorts++;
          // The loopback's port unreachable, as ICMP would bring it.
          if (!this.isBroadcast(d.dst)) this.refused(ICMP_PORT_UNREACHABLE, d.src, d.srcPort, d.dst, d.dstPort);
        }
      } catch (e) {
        // A throwing onMessage must not stall the rest of the batch (or the loop): report
        // it as Node does an emitter's, as Tcp.flush does.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    this.flushing = false;
    batch.length = 0;
    this.loopbackSpare = batch;
  }

  private isBroadcast(a: Ipv4Address): boolean {
    return a === IPV4_BROADCAST || a === this.ipv4.broadcast;
  }

  /** The socket a unicast datagram goes to: the best score, the newest on a tie; null when none matches. */
  private match(src: Ipv4Address, srcPort: number, dst: Ipv4Address, dstPort: number): UdpSocket | null {
    const list = this.ports.get(dstPort);
    if (list === undefined) return null;
    let best: UdpSocket | null = null;
    let bestScore = -1;
    for (const s of list) {
      const sc = score(s, src, srcPort, dst);
      if (sc > bestScore) {
        best = s;
        bestScore = sc;
      }
    }
    return best;
  }

  /** Delivers `data` to the matching socket (every matching one for a broadcast); false when none matched. */
  private demux(data: Uint8Array, src: Ipv4Address, srcPort: number, dst: Ipv4Address, dstPort: number): boolean {
    if (!this.isBroadcast(dst)) {
      const s = this.match(src, srcPort, dst, dstPort);
      if (s === null) return false;
      this.deliverTo(s, data, src, srcPort);
      return true;
    }
    const list = this.ports.get(dstPort);
    if (list === undefined) return false;
    let found = false;
    // A copy each, so that no socket sees what another's application does to its buffer.
    for (const s of list.slice()) {
      if (score(s, src, srcPort, dst) < 0) continue;
      this.deliverTo(s, found ? data.slice() : data, src, srcPort);
      found = true;
    }
    return found;
  }

  private deliverTo(s: UdpSocket, data: Uint8Array, src: Ipv4Address, srcPort: number): void {
    if (s.deliver({ data, address: src, port: srcPort })) this.counters.inDatagrams++;
    else this.counters.rcvbufErrors++;
  }

  /** An unreachable about a datagram we sent from `srcPort` to `dst:dstPort`: an error for the socket connected there (Linux __udp4_lib_err). */
  private refused(code: number, src: Ipv4Address, srcPort: number, dst: Ipv4Address, dstPort: number): void {
    const errno = code === ICMP_PORT_UNREACHABLE ? 'ECONNREFUSED' : code === ICMP_PROTOCOL_UNREACHABLE ? 'ENOPROTOOPT' : null;
    if (errno === null) return;
    const s = this.match(dst, dstPort, src, srcPort);
    // Without IP_RECVERR, Linux reports only hard errors, and only to a connected socket.
    if (s !== null && s.remotePort !== 0) s.reportError(errno);
  }

  icmpError(info: IcmpErrorInfo, _now: number): void {
    if (info.type !== ICMP_DEST_UNREACHABLE) return;
    this.refused(info.code, info.src, info.srcPort, info.dst, info.dstPort);
  }

  pull(out: L4Out, _now: number): Packet | null {
    const p = this.outbox.shift(out);
    if (p === null) return null;
    out.df = false;
    out.tos = 0;
    this.counters.outDatagrams++;
    return p;
  }

  receive(p: Packet, src: Ipv4Address, dst: Ipv4Address, now: number): void {
    const c = this.counters;
    const at = p.front(UDP_HEADER_LENGTH);
    if (at < 0) {
      c.inErrors++;
      p.release();
      return;
    }
    const b = p.bufs[0]!;
    const length = readU16(b, at + 4);
    if (length < UDP_HEADER_LENGTH || length > p.length) {
      c.inErrors++;
      p.release();
      return;
    }
    if (length < p.length) p.trimBack(p.length - length);
    if (!p.csumVerified && readU16(b, at + UDP_CHECKSUM_OFFSET) !== 0 && packetChecksum(p, 0, pseudoHeaderSum(src, dst, IPPROTO_UDP, length)) !== 0) {
      c.inCsumErrors++;
      c.inErrors++;
      p.release();
      return;
    }
    const srcPort = readU16(b, at);
    const dstPort = readU16(b, at + 2);
    if (this.isBroadcast(dst)) {
      const data = payloadOf(p, length);
      if (!this.demux(data, src, srcPort, dst, dstPort)) c.noPorts++;
      return;
    }
    const s = this.match(src, srcPort, dst, dstPort);
    if (s === null) {
      c.noPorts++;
      this.ipv4.unreachable(ICMP_PORT_UNREACHABLE, p, now);
      p.release();
      return;
    }
    this.deliverTo(s, payloadOf(p, length), src, srcPort);
  }

  /** Every bound socket (a snapshot, as /proc/net/udp). */
  table(): UdpSocketInfo[] {
    const out: UdpSocketInfo[] = [];
    for (const list of this.ports.values()) {
      for (const s of list) {
        out.push({ localAddress: s.localAddress, localPort: s.localPort, remoteAddress: s.remoteAddress, remotePort: s.remotePort, txQueue: s.sendQueuedBytes, rxQueue: s.queuedBytes, drops: s.drops });
      }
    }
    return out;
  }

  clear(): void {
    this.outbox.clear();
    this.loopback.length = 0;
    this.env.timers.cancel(this.loopbackTimer);
  }
}
