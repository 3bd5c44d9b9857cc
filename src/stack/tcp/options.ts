/** Tunables of a Tcp instance (defaults) and of one connection (overrides). */
import type { CongestionFactory } from './congestion.js';
import { congestionFactory, type CongestionName } from './congestion-modules.js';

export interface TcpOptions {
  /** Send buffer limit (bytes, default 256 KiB) at first. */
  sendBuffer?: number;
  /**
   * What the send buffer limit may grow to as the congestion window grows (bytes,
   * default 4 MiB, Linux's tcp_wmem[2]; twice cwnd, as tcp_sndbuf_expand), so a long
   * fat path is not held back by it. Set it to sendBuffer for a fixed limit.
   */
  sendBufferMax?: number;
  /** Receive buffer (bytes, default 256 KiB): the window offered at first. */
  recvBuffer?: number;
  /**
   * What the receive buffer may grow to while the application keeps up with the data
   * (bytes, default 6 MiB, Linux's tcp_rmem[2]; as tcp_rcv_space_adjust, once a round
   * trip). Set it to recvBuffer for a fixed buffer. The window scale is chosen for it.
   */
  recvBufferMax?: number;
  /** Upper bound on the MSS we announce and use (default: from the MTU). */
  mss?: number;
  /** Disable Nagle (default false). */
  noDelay?: boolean;
  /** Delayed ACK timeout (ms, default 40); 0 acks every segment at once. */
  delayedAck?: number;
  /** RFC 6298 limits (ms): minimum (default 200, as Linux), initial (1000), maximum (120000). */
  minRto?: number;
  initialRto?: number;
  maxRto?: number;
  /** Retransmissions of data before giving up with ETIMEDOUT (default 15, Linux tcp_retries2). */
  maxRetries?: number;
  /** SYN retransmissions before ETIMEDOUT (default 6, Linux tcp_syn_retries). */
  synRetries?: number;
  /** Maximum segment lifetime (ms, default 30000): TIME_WAIT lasts 2·MSL (60 s, as Linux). */
  msl?: number;
  /** FIN_WAIT_2 timeout for closed (orphaned) connections (ms, default 60000, Linux tcp_fin_timeout). */
  finWait2Timeout?: number;
  /** Keepalive (off by default): idle before the first probe, interval between probes, probes before ETIMEDOUT. */
  keepAlive?: boolean;
  keepAliveIdle?: number;
  keepAliveInterval?: number;
  keepAliveCount?: number;
  /** RFC 7323 window scaling (default true). */
  windowScaling?: boolean;
  /** RFC 2018 selective acknowledgments and RFC 6675 SACK-based loss recovery (default true). */
  sack?: boolean;
  /** RFC 7323 timestamps: RTTM and PAWS (default true; 12 bytes of every segment). */
  timestamps?: boolean;
  /** Initial window in segments (default 10, RFC 6928). */
  initialWindow?: number;
  /** Out-of-order queue limits: segments (default 1024) and bytes (default: the receive buffer). */
  oooMaxSegments?: number;
  oooMaxBytes?: number;
  /** Persist (zero-window probe) interval cap (ms, default 60000). */
  maxPersist?: number;
  /** SYN queue length per listener (default: max(backlog, 128)). */
  synBacklog?: number;
  /** SYN cookies when a listener's SYN queue is full (default true, as Linux tcp_syncookies=1). */
  synCookies?: boolean;
  /** Per stack: connections held in TIME_WAIT at most (default 262144, Linux tcp_max_tw_buckets); past it they close at once. */
  maxTimeWait?: number;
  /** Congestion control: 'cubic' (default, as Linux; RFC 9438), 'newreno' (RFC 5681/6582), or a factory. */
  congestion?: CongestionName | CongestionFactory;
}

export type ResolvedTcpOptions = Required<Omit<TcpOptions, 'mss' | 'oooMaxBytes' | 'synBacklog' | 'congestion'>> & {
  congestion: CongestionFactory;
  mss: number;
  oooMaxBytes: number;
  synBacklog: number;
};

export const DEFAULT_TCP_OPTIONS: ResolvedTcpOptions = Object.freeze({
  sendBuffer: 256 * 1024,
  sendBufferMax: 4 * 1024 * 1024,
  recvBuffer: 256 * 1024,
  recvBufferMax: 6 * 1024 * 1024,
  mss: 65535,
  noDelay: false,
  delayedAck: 40,
  minRto: 200,
  initialRto: 1000,
  maxRto: 120_000,
  maxRetries: 15,
  synRetries: 6,
  msl: 30_000,
  finWait2Timeout: 60_000,
  keepAlive: false,
  keepAliveIdle: 7_200_000,
  keepAliveInterval: 75_000,
  keepAliveCount: 9,
  windowScaling: true,
  sack: true,
  timestamps: true,
  initialWindow: 10,
  oooMaxSegments: 1024,
  oooMaxBytes: 0,
  maxPersist: 60_000,
  synBacklog: 0,
  synCookies: true,
  maxTimeWait: 262_144,
  congestion: congestionFactory('cubic'),
});

/** `base` with `over` applied (the same object when there is nothing to apply). */
export function resolveOptions(base: ResolvedTcpOptions, over?: TcpOptions): ResolvedTcpOptions {
  if (!over) return base;
  let any = false;
  for (const k in over) if ((over as Record<string, unknown>)[k] !== undefined) any = true;
  if (!any) return base;
  const r = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) if (v !== undefined) r[k] = v;
  r['congestion'] = congestionFactory(r['congestion'] as CongestionName | CongestionFactory);
  const o = r as ResolvedTcpOptions;
  for (const k of ['sendBuffer', 'sendBufferMax', 'recvBuffer', 'recvBufferMax', 'minRto', 'initialRto', 'maxRto', 'msl'] as const) {
    if (!(typeof o[k] === 'number' && o[k] > 0)) throw new RangeError(`tcp option ${k} must be a positive number, got ${String(o[k])}`);
  }
  if (o.recvBuffer > 1 << 30 || o.recvBufferMax > 1 << 30) throw new RangeError('recvBuffer and recvBufferMax are at most 1 GiB (RFC 7323 §2.3)');
  // A recvBuffer above the default ceiling (and no ceiling given) is a fixed buffer of that size.
  if (o.recvBufferMax < o.recvBuffer) {
    if (over.recvBufferMax !== undefined) throw new RangeError(`tcp option recvBufferMax (${o.recvBufferMax}) is below recvBuffer (${o.recvBuffer})`);
    r['recvBufferMax'] = o.recvBuffer;
  }
  if (o.sendBufferMax < o.sendBuffer) {
    if (over.sendBufferMax !== undefined) throw new RangeError(`tcp option sendBufferMax (${o.sendBufferMax}) is below sendBuffer (${o.sendBuffer})`);
    r['sendBufferMax'] = o.sendBuffer;
  }
  return Object.freeze(o);
}
