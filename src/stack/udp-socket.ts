/**
 * A UDP socket of one stack, with the options the BSD socket API gives one and that
 * node:dgram exposes: SO_REUSEADDR, SO_BROADCAST, IP_TTL, SO_RCVBUF and SO_SNDBUF
 * (with Linux's rules: the size asked for is capped, doubled for bookkeeping and
 * given a floor), a receive queue bounded in bytes, connect/disconnect with Linux's
 * address rules, and the pending error (Linux sk_err) an ICMP error leaves on a
 * connected socket.
 */

import { IPV4_ANY, type Ipv4Address } from '../wire/addr.js';
import { DatagramQueue, type Datagram } from './udp-queue.js';
import type { SendCharge } from './udp-outbox.js';

export type { Datagram } from './udp-queue.js';

/** Where a datagram goes, as the host's `route()` found it (one object, reused). */
export interface UdpRoute {
  src: Ipv4Address;
  dst: Ipv4Address;
  /** To this host: delivered without the link. */
  local: boolean;
  broadcast: boolean;
}

/** What a socket asks of the UDP that hosts it (udp.ts): its port, its routes, its sends. */
export interface UdpSocketHost {
  /** Claims `port` (0: an ephemeral one) on `address`; returns the port, or throws a UdpError (EADDRINUSE, EADDRNOTAVAIL). */
  /** `remote` and `remotePort` (when known, from `local`): an ephemeral port for talking to them (RFC 6056, and a shard's port filter). */
  bindPort(s: UdpSocket, port: number, address: Ipv4Address, local?: Ipv4Address, remote?: Ipv4Address, remotePort?: number): number;
  unbind(s: UdpSocket): void;
  /** The route to `dst` (throws a UdpError: ENETUNREACH, EACCES). */
  route(s: UdpSocket, dst: Ipv4Address): UdpRoute;
  send(s: UdpSocket, data: Uint8Array | readonly Uint8Array[], address: Ipv4Address, port: number): boolean;
}

export class UdpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Linux's defaults (net.core.rmem_default, wmem_default, rmem_max, wmem_max): 212,992 bytes each. */
export const UDP_BUFFER_DEFAULT = 212_992;
/** Linux's floors for SO_RCVBUF and SO_SNDBUF (SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF). */
export const UDP_MIN_RCVBUF = 2304;
export const UDP_MIN_SNDBUF = 4608;

export interface UdpBufferLimits {
  /** Receive and send buffer of a new socket, in bytes (default 212,992). */
  receiveBuffer: number;
  sendBuffer: number;
  /** The most a socket may ask for (before doubling), as net.core.rmem_max / wmem_max (default 212,992). */
  bufferMax: number;
}

export class UdpSocket implements SendCharge {
  localAddress: Ipv4Address = IPV4_ANY;
  localPort = 0;
  remoteAddress: Ipv4Address = IPV4_ANY;
  remotePort = 0;
  /** SO_REUSEADDR: shares its port with other sockets that set it too (set before bind). */
  reuseAddr = false;
  /** SO_BROADCAST: may send to a broadcast address (without it Linux says EACCES). */
  broadcast = false;
  /** Bytes and datagrams queued for sending, not yet handed to IP (Linux sk_wmem_alloc). */
  sendQueuedBytes = 0;
  sendQueuedCount = 0;
  /** Called when a datagram arrives (it is also queued for `receive()` when no handler is set). */
  onMessage: ((d: Datagram) => void) | null = null;
  /** Called when a datagram was queued or an error is pending (poll's POLLIN/POLLERR). */
  onReadable: (() => void) | null = null;
  private ttlValue = 0;
  private sendLimit: number;
  private readonly queue: DatagramQueue;
  private pendingError: string | null = null;
  /** bind() named the port / the address (Linux SOCK_BINDPORT_LOCK, SOCK_BINDADDR_LOCK): disconnect keeps them. */
  private portLocked = false;
  private addressLocked = false;
  private closed = false;

  constructor(
    private readonly udp: UdpSocketHost,
    private readonly limits: UdpBufferLimits,
  ) {
    this.queue = new DatagramQueue(limits.receiveBuffer);
    this.sendLimit = limits.sendBuffer;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  bind(port = 0, address: Ipv4Address = IPV4_ANY): this {
    this.checkOpen();
    if (this.localPort !== 0) throw new UdpError('ERR_SOCKET_ALREADY_BOUND', 'socket is already bound');
    this.localPort = this.udp.bindPort(this, port, address);
    this.localAddress = address;
    this.portLocked = port !== 0;
    this.addressLocked = address !== IPV4_ANY;
    return this;
  }

  /**
   * Binds an unbound socket to a random ephemeral port for talking to `remote`:`remotePort`
   * from `local` (Linux inet_autobind; on a shard, one whose replies steer back to it, ports.ts).
   */
  autoBind(local: Ipv4Address, remote: Ipv4Address, remotePort: number): void {
    this.localPort = this.udp.bindPort(this, 0, IPV4_ANY, local, remote, remotePort);
    this.localAddress = IPV4_ANY;
    this.portLocked = false;
    this.addressLocked = false;
  }

  /**
   * Sets the default destination and takes datagrams only from it. As in Linux
   * (ip4_datagram_connect): an unbound socket is bound to an ephemeral port, an
   * unbound local address becomes the route's source, 0.0.0.0 means this host, and a
   * broadcast address needs SO_BROADCAST (EACCES).
   */
  connect(address: Ipv4Address, port: number): this {
    this.checkOpen();
    if (port <= 0 || port > 0xffff) throw new UdpError('EINVAL', `not a port to connect to: ${port}`);
    const route = this.udp.route(this, address);
    if (this.localPort === 0) this.autoBind(route.src, route.dst, port);
    if (this.localAddress === IPV4_ANY) this.localAddress = route.src;
    this.remoteAddress = route.dst;
    this.remotePort = port;
    return this;
  }

  /**
   * Forgets the peer (Linux __udp_disconnect): the local address goes back to any unless
   * bind() named it, and the port is let go unless bind() named it (the next send binds
   * a new one).
   */
  disconnect(): this {
    this.remoteAddress = IPV4_ANY;
    this.remotePort = 0;
    if (!this.addressLocked) this.localAddress = IPV4_ANY;
    if (!this.portLocked && this.localPort !== 0) {
      this.udp.unbind(this);
      this.localPort = 0;
    }
    return this;
  }

  /**
   * Sends one datagram made of `data` (a buffer, or buffers gathered in order), to the
   * peer when no destination is given. Returns false when it could not be queued (the
   * send buffer or the stack's send queue is full, or no memory: ENOBUFS, counted);
   * throws a UdpError for what Linux refuses at sendmsg (EMSGSIZE, EDESTADDRREQ,
   * EACCES, ENETUNREACH, EINVAL). 0.0.0.0 means this host, as in Linux.
   */
  send(data: Uint8Array | readonly Uint8Array[], port = this.remotePort, address = this.remoteAddress): boolean {
    this.checkOpen();
    if (port === 0 && this.remotePort === 0) throw new UdpError('EDESTADDRREQ', 'not connected, and no destination given');
    if (!(port >= 1 && port <= 0xffff)) throw new UdpError('EINVAL', `not a port to send to: ${port}`);
    return this.udp.send(this, data, address, port);
  }

  /** True when a datagram of any size may be queued now (Linux: below SO_SNDBUF, sock_alloc_send_skb). */
  get canSend(): boolean {
    return this.sendQueuedBytes < this.sendLimit;
  }

  /** IP_TTL of what this socket sends; 0 is the stack's default. */
  get ttl(): number {
    return this.ttlValue;
  }

  set ttl(ttl: number) {
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) throw new UdpError('EINVAL', `a TTL is 1..255 (0: the default), got ${ttl}`);
    this.ttlValue = ttl;
  }

  /** SO_RCVBUF as getsockopt reports it: the receive queue's limit in bytes. */
  get receiveBufferSize(): number {
    return this.queue.limit;
  }

  /** Linux setsockopt(SO_RCVBUF): min(bytes, rmem_max) doubled, at least SOCK_MIN_RCVBUF. */
  setReceiveBufferSize(bytes: number): void {
    this.queue.limit = Math.max(UDP_MIN_RCVBUF, Math.min(bytes, this.limits.bufferMax) * 2);
  }

  get sendBufferSize(): number {
    return this.sendLimit;
  }

  /** Linux setsockopt(SO_SNDBUF): min(bytes, wmem_max) doubled, at least SOCK_MIN_SNDBUF. */
  setSendBufferSize(bytes: number): void {
    this.sendLimit = Math.max(UDP_MIN_SNDBUF, Math.min(bytes, this.limits.bufferMax) * 2);
  }

  /** The oldest queued datagram, or null. */
  receive(): Datagram | null {
    return this.queue.shift();
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Bytes the receive queue holds, as it charges them (payload plus overhead per datagram). */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /** Datagrams dropped because the receive queue was full (Linux: the "drops" of /proc/net/udp). */
  get drops(): number {
    return this.queue.drops;
  }

  /** The pending error (Linux sk_err), cleared by reading it, as recvmsg does. */
  takeError(): string | null {
    const e = this.pendingError;
    this.pendingError = null;
    return e;
  }

  /** Called by Udp: false when the queue is full. */
  deliver(d: Datagram): boolean {
    if (this.onMessage !== null) {
      this.onMessage(d);
      return true;
    }
    const wasEmpty = this.queue.length === 0;
    if (!this.queue.push(d)) return false;
    if (wasEmpty) this.onReadable?.();
    return true;
  }

  /** Called by Udp: an ICMP error about what this connected socket sent (ECONNREFUSED). */
  reportError(code: string): void {
    this.pendingError = code;
    this.onReadable?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.udp.unbind(this);
    this.queue.clear();
    this.pendingError = null;
  }

  private checkOpen(): void {
    if (this.closed) throw new UdpError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'socket is closed');
  }
}
