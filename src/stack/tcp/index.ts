/** TCP for one shard (issue 3): the protocol and its minimal in-process socket API. */
export { Tcp, IPPROTO_TCP, type ConnectOptions, type ListenOptions } from './tcp.js';
export { TcpConnection, DEFAULT_MSS } from './connection.js';
export { TcpListener } from './listener.js';
export { DEFAULT_TCP_OPTIONS, type TcpOptions, type ResolvedTcpOptions } from './options.js';
export { newTcpCounters, type TcpCounters, type TcpDropCounters } from './counters.js';
export { NewReno, newReno, type CongestionControl, type CongestionFactory } from './congestion.js';
export { RttEstimator } from './rtt.js';
export { IsnGenerator } from './isn.js';
export { STATE_NAMES, type TcpStateName } from './state.js';
export type { TcpError, TcpErrorCode } from './events.js';
