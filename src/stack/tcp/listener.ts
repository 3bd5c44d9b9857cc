/**
 * A listening socket (RFC 9293 LISTEN): a SYN queue of connections in SYN_RECEIVED and
 * an accept queue of established ones nobody has taken yet, both bounded; what does not
 * fit is dropped and counted. When the SYN queue is full (and the accept queue is not),
 * SYNs are answered with SYN cookies (syn-cookie.ts, as Linux's tcp_syncookies=1); the
 * listener remembers when that last happened, as ACKs are checked as cookies only for
 * a while after it.
 */
import { EV_CONNECTION, type EventTarget } from './events.js';
import type { TcpConnection } from './connection.js';
import type { ResolvedTcpOptions } from './options.js';
import type { Tcp } from './tcp.js';

export class TcpListener implements EventTarget {
  events = 0;
  inEventQueue = false;
  private synQueue = 0;
  private readonly acceptQueue: TcpConnection[] = [];
  private readonly embryos = new Set<TcpConnection>();
  private closed = false;
  /** When the SYN queue last overflowed (ms), -Infinity: never. */
  private overflowAt = -Infinity;
  private connectionCb: ((c: TcpConnection) => void) | null = null;
  /** Called when accept() has something (when no onConnection callback is set). */
  onAcceptable: (() => void) | null = null;

  constructor(
    private readonly tcp: Tcp,
    readonly port: number,
    /** 0 for any local address. */
    readonly address: number,
    readonly backlog: number,
    readonly synBacklog: number,
    readonly opts: ResolvedTcpOptions,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Connections waiting in accept(). */
  get pending(): number {
    return this.acceptQueue.length;
  }

  /** Connections still in the handshake. */
  get handshaking(): number {
    return this.synQueue;
  }

  /** Every new established connection is handed to `cb` (instead of accept()). */
  onConnection(cb: (c: TcpConnection) => void): void {
    this.connectionCb = cb;
    if (this.acceptQueue.length > 0) this.tcp.queueEvent(this, EV_CONNECTION);
  }

  accept(): TcpConnection | null {
    const c = this.acceptQueue.shift();
    if (c === undefined) return null;
    c.listener = null;
    c.inAcceptQueue = false;
    // What happened while it waited (data, the peer's FIN) is dispatched now, to whoever took it.
    if (c.events !== 0) this.tcp.queueEvent(c, 0);
    return c;
  }

  /** Room for a new SYN? */
  canTakeSyn(): boolean {
    return !this.closed && this.synQueue < this.synBacklog && this.acceptQueue.length < this.backlog;
  }

  /** The SYN queue is full but the accept queue is not: the case for a SYN cookie. */
  synQueueFull(): boolean {
    return !this.closed && this.synQueue >= this.synBacklog && this.acceptQueue.length < this.backlog;
  }

  /** Room in the accept queue (for a connection made from a cookie). */
  canAccept(): boolean {
    return !this.closed && this.acceptQueue.length < this.backlog;
  }

  noteOverflow(now: number): void {
    this.overflowAt = now;
  }

  /** The SYN queue overflowed within `window` ms (Linux tcp_synq_no_recent_overflow). */
  overflowedWithin(now: number, window: number): boolean {
    return now - this.overflowAt <= window;
  }

  /** A connection made from a SYN cookie: this listener's, outside the SYN queue, until it is established. */
  adopt(c: TcpConnection): void {
    c.listener = this;
  }

  addEmbryo(c: TcpConnection): void {
    this.synQueue++;
    this.embryos.add(c);
    c.listener = this;
  }

  /** The handshake of `c` completed: into the accept queue, or false when it is full. */
  established(c: TcpConnection): boolean {
    if (this.embryos.delete(c)) this.synQueue--;
    if (this.acceptQueue.length >= this.backlog) {
      this.tcp.counters.drops.backlogFull++;
      c.listener = null;
      return false;
    }
    this.tcp.counters.passiveOpens++;
    this.acceptQueue.push(c);
    c.inAcceptQueue = true;
    this.tcp.queueEvent(this, EV_CONNECTION);
    return true;
  }

  /** `c` is gone (reset, timed out) before anyone took it. */
  forget(c: TcpConnection): void {
    if (this.embryos.delete(c)) this.synQueue--;
    if (c.inAcceptQueue) {
      const i = this.acceptQueue.indexOf(c);
      if (i >= 0) this.acceptQueue.splice(i, 1);
      c.inAcceptQueue = false;
    }
    c.listener = null;
  }

  /** Stops listening; connections not yet accepted are reset. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tcp.removeListener(this);
    for (const c of [...this.embryos, ...this.acceptQueue]) c.abort();
    this.embryos.clear();
    this.acceptQueue.length = 0;
    this.synQueue = 0;
  }

  dispatchEvents(): void {
    this.events = 0;
    if (this.closed) return;
    if (this.connectionCb !== null) {
      while (this.acceptQueue.length > 0 && this.connectionCb !== null && !this.closed) this.connectionCb(this.accept()!);
    } else if (this.acceptQueue.length > 0) {
      this.onAcceptable?.();
    }
  }
}
