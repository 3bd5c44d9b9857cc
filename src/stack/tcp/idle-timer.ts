/**
 * A connection's idle timer: keepalive while it is open (RFC 1122 §4.2.3.6: after
 * `idle` ms without a segment from the peer, a probe every `interval` ms; no answer to
 * `count` of them and the connection is dead), or, once the application has closed it
 * and the peer's FIN is late, the FIN_WAIT_2 timeout (Linux's tcp_fin_timeout). One
 * timer, and `kind` says which it is armed for.
 */
import type { Timer, TimerSet } from '../../time/timers.js';
import type { ResolvedTcpOptions } from './options.js';

const IDLE_NONE = 0;
const IDLE_KEEPALIVE = 1;
const IDLE_FIN_WAIT_2 = 2;

/** What the idle timer asks of its connection. */
export interface IdleOwner {
  /** Whether keepalive applies now (ESTABLISHED or CLOSE_WAIT). */
  readonly open: boolean;
  /** Send a keepalive probe. */
  keepaliveProbe(): void;
  /** No answer to the last keepalive probe: the peer is gone. */
  keepaliveFailed(): void;
  /** FIN_WAIT_2 lasted longer than the timeout. */
  finWait2Expired(): void;
}

export class IdleTimer {
  private kind = IDLE_NONE;
  private readonly timer: Timer;
  private keepAlive: boolean;
  private idle: number;
  private interval: number;
  private count: number;
  private probes = 0;
  /** When the peer was last heard from. */
  private lastRecv = 0;

  constructor(
    private readonly owner: IdleOwner,
    private readonly timers: TimerSet,
    opts: ResolvedTcpOptions,
  ) {
    this.timer = timers.create((now) => this.fire(now));
    this.keepAlive = opts.keepAlive;
    this.idle = opts.keepAliveIdle;
    this.interval = opts.keepAliveInterval;
    this.count = opts.keepAliveCount;
  }

  /** A segment from the peer: it is alive, and the idle time starts again. */
  heard(now: number): void {
    this.lastRecv = now;
    this.probes = 0;
  }

  /** The connection is open: keepalive starts (if on). */
  opened(now: number): void {
    this.lastRecv = now;
    if (this.keepAlive) this.arm(IDLE_KEEPALIVE, now + this.idle);
  }

  /** setKeepAlive: on or off, with new times when given (ms); takes effect now on an open connection. */
  configure(on: boolean, idle: number | undefined, interval: number | undefined, count: number | undefined, now: number): void {
    this.keepAlive = on;
    if (idle !== undefined) this.idle = idle;
    if (interval !== undefined) this.interval = interval;
    if (count !== undefined) this.count = count;
    if (on) {
      if (this.owner.open) {
        this.lastRecv = now;
        this.arm(IDLE_KEEPALIVE, now + this.idle);
      }
    } else if (this.kind === IDLE_KEEPALIVE) {
      this.cancel();
    }
  }

  /** Closed by the application in FIN_WAIT_2: the peer's FIN is due by `due`. */
  finWait2(due: number): void {
    this.arm(IDLE_FIN_WAIT_2, due);
  }

  cancel(): void {
    this.kind = IDLE_NONE;
    this.timers.cancel(this.timer);
  }

  private arm(kind: number, due: number): void {
    this.kind = kind;
    this.timers.arm(this.timer, due);
  }

  private fire(now: number): void {
    const kind = this.kind;
    this.kind = IDLE_NONE;
    if (kind === IDLE_FIN_WAIT_2) this.owner.finWait2Expired();
    else if (kind === IDLE_KEEPALIVE && this.keepAlive && this.owner.open) this.keepaliveDue(now);
  }

  private keepaliveDue(now: number): void {
    if (this.probes === 0 && now - this.lastRecv < this.idle) {
      this.arm(IDLE_KEEPALIVE, this.lastRecv + this.idle);
      return;
    }
    if (this.probes >= this.count) {
      this.owner.keepaliveFailed();
      return;
    }
    this.probes++;
    this.arm(IDLE_KEEPALIVE, now + this.interval);
    this.owner.keepaliveProbe();
  }
}
