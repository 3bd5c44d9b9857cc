/**
 * TCP for one shard: the protocol and its minimal in-process socket API.
 *
 * Where things are (RFC 9293's terms):
 *   tcp.ts           demultiplexing, the connection table, ports, the transmit pull, counters
 *   listener.ts      LISTEN: what happens to a SYN (the SYN queue, SYN cookies, a SYN meeting TIME_WAIT)
 *   handshake.ts     the handshake's rules: SYN_SENT verdicts, option negotiation
 *   connection.ts    the state machine (segmentArrives step by step, closing) and the application's calls
 *   sender.ts        send sequence space, send buffer, ACK processing, the retransmission timer, building segments
 *   loss-recovery.ts duplicate ACKs, SACK scoreboard and RFC 6675 recovery, RACK-TLP, undo
 *   receiver.ts      receive sequence space, window, in-order and out-of-order queues, the ACKs owed, receive memory
 *   idle-timer.ts    keepalive and the FIN_WAIT_2 timeout;  time-wait.ts  TIME_WAIT as compact records
 *   host.ts          what a connection asks of its host, and when callbacks run and segments leave
 *
 *   const tcp = new Tcp(env, options?)           // L4Protocol 6: receive / pull / icmpError
 *   tcp.listen(port, { backlog?, address?, options? }) → TcpListener
 *       .onConnection(cb) | .accept() + .onAcceptable, .pending, .handshaking, .close()
 *   tcp.connect({ dst, dstPort, srcPort?, options? }) → TcpConnection
 *       .write(bytes, off?, len?) → number   .read(max?) → Uint8Array | null   .readInto(dst, off?, len?) → number
 *       .shutdown() .close() .abort() .setNoDelay(on) .setKeepAlive(on, idle?, interval?, count?)
 *       .stateName .localAddress .localPort .remoteAddress .remotePort .bytesSent .bytesReceived
 *       .readableLength .writableLength .ended .rto .srtt .cwnd .sndMss .windowScales
 *       onConnect onReadable onWritable onEnd onClose(error?: { code, message })
 *   tcp.flush()     // run deferred callbacks now (the stack may call it at the end of a burst)
 *   tcp.clear()     // tear everything down
 *   tcp.counters    // plain object: segments, retransmissions, drops by reason, states...
 */
export { Tcp, IPPROTO_TCP, type ConnectOptions, type ListenOptions } from './tcp.js';
export { TcpConnection } from './connection.js';
export { DEFAULT_MSS } from './receiver.js';
export { TcpListener } from './listener.js';
export { DEFAULT_TCP_OPTIONS, type TcpOptions, type ResolvedTcpOptions } from './options.js';
export { newTcpCounters, type TcpCounters, type TcpDropCounters } from './counters.js';
export type { CongestionControl, CongestionFactory } from './congestion.js';
export { NewReno, newReno } from './newreno.js';
export { congestionFactory, type CongestionName } from './congestion-modules.js';
export { Cubic, cubic, cubicK, cubicW, type CubicOptions } from './cubic.js';
export { RttEstimator } from './rtt.js';
export { IsnGenerator } from './isn.js';
export { STATE_NAMES, type TcpStateName } from './state.js';
export { EV_CONNECTION, type EventTarget, type TcpError, type TcpErrorCode } from './events.js';
