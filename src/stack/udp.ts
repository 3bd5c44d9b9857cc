/**
 * UDP (RFC 768, RFC 1122 §4.1): sockets bound to a port, datagrams sent with a
 * checksum (made by the device when it offloads), received with the checksum checked
 * (0 means the sender sent none), a bounded receive queue per socket, and ICMP port
 * unreachable (rate-limited by ICMP) when nobody listens.
 */

import { Packet } from '../packet/packet.js';
import { PacketRing } from '../packet/ring.js';
import { packetChecksum } from '../packet/checksum.js';
import { IPV4_ANY, IPV4_BROADCAST, readU16, writeU16, type Ipv4Address } from '../wire/addr.js';
import { pseudoHeaderSum } from '../wire/checksum.js';
import { IPPROTO_UDP } from '../wire/ipv4.js';
import { UDP_CHECKSUM_OFFSET, UDP_HEADER_LENGTH } from '../wire/udp.js';
import { ICMP_PORT_UNREACHABLE } from '../wire/icmp.js';
import type { StackEnv } from './env.js';
import type { Ipv4 } from './ipv4.js';
import { L4_HEADROOM, type L4Out, type L4Protocol } from './l4.js';

export interface UdpCounters {
  inDatagrams: number;
  noPorts: number;
  inErrors: number;
  inCsumErrors: number;
  /** Dropped: the socket's receive queue was full (Linux RcvbufErrors). */
  rcvbufErrors: number;
  outDatagrams: number;
  /** Not sent: the send queue was full, or no memory (Linux SndbufErrors). */
  sndbufErrors: number;
}

export interface UdpOptions {
  /** Datagrams waiting to be sent, for all sockets (default 1024). */
  sendQueue?: number;
  /** Datagrams a socket holds before dropping (default 256). */
  receiveQueue?: number;
}

export interface Datagram {
  data: Uint8Array;
  address: Ipv4Address;
  port: number;
}

/** Largest UDP payload over IPv4: 65,535 − 20 − 8. */
export const UDP_MAX_PAYLOAD = 65507;
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;

export class UdpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class UdpSocket {
  localAddress: Ipv4Address = IPV4_ANY;
  localPort = 0;
  remoteAddress: Ipv4Address = IPV4_ANY;
  remotePort = 0;
  private readonly queue: Datagram[] = [];
  private closed = false;
  /** Called when a datagram arrives (it is also queued for `receive()` when no handler is set). */
  onMessage: ((d: Datagram) => void) | null = null;

  constructor(
    private readonly udp: Udp,
    private readonly limit: number,
  ) {}

  bind(port = 0, address: Ipv4Address = IPV4_ANY): this {
    if (this.closed) throw new UdpError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'socket is closed');
    if (this.localPort !== 0) throw new UdpError('ERR_SOCKET_ALREADY_BOUND', 'socket is already bound');
    this.localPort = this.udp.bindPort(this, port);
    this.localAddress = address;
    return this;
  }

  connect(address: Ipv4Address, port: number): this {
    if (this.localPort === 0) this.bind();
    this.remoteAddress = address;
    this.remotePort = port;
    return this;
  }

  /** Sends a copy of `data`; false when it could not be queued (counted). */
  send(data: Uint8Array, port = this.remotePort, address = this.remoteAddress): boolean {
    if (this.closed) throw new UdpError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'socket is closed');
    if (data.length > UDP_MAX_PAYLOAD) throw new UdpError('EMSGSIZE', `a UDP datagram holds at most ${UDP_MAX_PAYLOAD} bytes, got ${data.length}`);
    if (port <= 0 || port > 0xffff || address === IPV4_ANY) throw new UdpError('EDESTADDRREQ', 'no destination address or port');
    if (this.localPort === 0) this.bind();
    return this.udp.send(this, data, address, port);
  }

  /** The oldest queued datagram, or null. */
  receive(): Datagram | null {
    return this.queue.shift() ?? null;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Called by Udp: false when the queue is full. */
  deliver(d: Datagram): boolean {
    if (this.onMessage !== null) {
      this.onMessage(d);
      return true;
    }
    if (this.queue.length >= this.limit) return false;
    this.queue.push(d);
    return true;
  }

  accepts(src: Ipv4Address, srcPort: number, dst: Ipv4Address): boolean {
    if (this.localAddress !== IPV4_ANY && this.localAddress !== dst) return false;
    return this.remotePort === 0 || (this.remoteAddress === src && this.remotePort === srcPort);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.udp.unbind(this);
    this.queue.length = 0;
  }
}

export class Udp implements L4Protocol {
  readonly protocol = IPPROTO_UDP;
  readonly counters: UdpCounters = { inDatagrams: 0, noPorts: 0, inErrors: 0, inCsumErrors: 0, rcvbufErrors: 0, outDatagrams: 0, sndbufErrors: 0 };
  private readonly ports = new Map<number, UdpSocket>();
  private readonly outbox: PacketRing;
  private readonly outDst: number[] = [];
  private readonly outSrc: number[] = [];
  private readonly receiveQueue: number;

  constructor(
    private readonly env: StackEnv,
    private readonly ipv4: Ipv4,
    options: UdpOptions = {},
  ) {
    this.outbox = new PacketRing(options.sendQueue ?? 1024);
    this.receiveQueue = options.receiveQueue ?? 256;
  }

  open(): UdpSocket {
    return new UdpSocket(this, this.receiveQueue);
  }

  bindPort(s: UdpSocket, port: number): number {
    if (port === 0) {
      const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
      const first = this.env.random.int(span);
      for (let k = 0; k < span; k++) {
        const candidate = EPHEMERAL_LOW + ((first + k) % span);
        if (!this.ports.has(candidate)) {
          port = candidate;
          break;
        }
      }
      if (port === 0) throw new UdpError('EADDRINUSE', 'no free ephemeral UDP port');
    } else if (this.ports.has(port)) {
      throw new UdpError('EADDRINUSE', `UDP port ${port} is in use`);
    }
    this.ports.set(port, s);
    return port;
  }

  unbind(s: UdpSocket): void {
    if (this.ports.get(s.localPort) === s) this.ports.delete(s.localPort);
  }

  send(s: UdpSocket, data: Uint8Array, address: Ipv4Address, port: number): boolean {
    const src = s.localAddress !== IPV4_ANY ? s.localAddress : (this.env.sourceFor(address) ?? this.ipv4.address);
    const p = Packet.alloc(this.env.pool, L4_HEADROOM);
    if (p === null) {
      this.counters.sndbufErrors++;
      return false;
    }
    const len = UDP_HEADER_LENGTH + data.length;
    const at = p.append(UDP_HEADER_LENGTH);
    const b = p.bufs[0]!;
    if (data.length <= p.tailroom) b.set(data, p.append(data.length));
    else p.appendFragment(data.slice(), 0, data.length);
    writeU16(b, at, s.localPort);
    writeU16(b, at + 2, port);
    writeU16(b, at + 4, len);
    const pseudo = pseudoHeaderSum(src, address, IPPROTO_UDP, len);
    if (this.env.features.txCsumL4) {
      // The device finishes it (virtio NEEDS_CSUM): the field holds the pseudo-header sum.
      writeU16(b, at + UDP_CHECKSUM_OFFSET, pseudo);
      p.csumStart = 0;
      p.csumOffset = UDP_CHECKSUM_OFFSET;
    } else {
      writeU16(b, at + UDP_CHECKSUM_OFFSET, 0);
      writeU16(b, at + UDP_CHECKSUM_OFFSET, packetChecksum(p, 0, pseudo) || 0xffff);
    }
    if (!this.outbox.push(p)) {
      this.counters.sndbufErrors++;
      p.release();
      return false;
    }
    this.outDst.push(address);
    this.outSrc.push(src);
    this.env.wake();
    return true;
  }

  pull(out: L4Out, _now: number): Packet | null {
    const p = this.outbox.shift();
    if (p === null) return null;
    out.dst = this.outDst.shift()!;
    out.src = this.outSrc.shift()!;
    out.df = false;
    out.tos = 0;
    out.ttl = 0;
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
    const s = this.ports.get(dstPort);
    if (s === undefined || !s.accepts(src, srcPort, dst)) {
      c.noPorts++;
      if (dst !== IPV4_BROADCAST) this.ipv4.unreachable(ICMP_PORT_UNREACHABLE, p, now);
      p.release();
      return;
    }
    const data = new Uint8Array(length - UDP_HEADER_LENGTH);
    p.copyTo(data, 0, UDP_HEADER_LENGTH);
    p.release();
    if (s.deliver({ data, address: src, port: srcPort })) c.inDatagrams++;
    else c.rcvbufErrors++;
  }

  clear(): void {
    this.outbox.clear();
    this.outDst.length = 0;
    this.outSrc.length = 0;
  }
}
