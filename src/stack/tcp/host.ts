/**
 * What a connection and a listener ask of the TCP that hosts them (tcp.ts implements
 * both interfaces), and what a connection asks of the listener it came from. They hold
 * nothing else of their hosts, so tcp.ts → listener.ts → connection.ts import one way:
 * the connection type is a parameter here, never an import.
 *
 * When things happen (the contract the three share):
 * - Receive comes in bursts (interface.ts): each frame goes down to a connection's
 *   `segmentArrives`, which only updates state and marks what must be sent (`markReady`)
 *   and which callbacks are owed (`queueEvent`). Nothing is built or sent, and no
 *   application callback runs, inside a segment.
 * - Application callbacks run at safe points only: `flush()`, at the end of each receive
 *   burst, at both ends of a transmit pull, after a timer; never inside a user's call
 *   (a write, a close) nor in the middle of a segment.
 * - Segments are built when the device pulls (`Tcp.pull`, round-robin over the ready
 *   list), so each carries the newest ACK and window. Something made ready outside a
 *   burst (a user's write, a timer) wakes the event loop (`markReady(c, true)`), which
 *   then polls the device queue, which pulls.
 */
import type { StackEnv } from '../env.js';
import type { TcpCounters } from './counters.js';
import type { EventTarget } from './events.js';
import type { BlockPool } from './send-buffer.js';
import type { SynCookies } from './syn-cookie.js';
import type { TimeWaitState, TimeWaitTable } from './time-wait.js';

/** The host of connections of type C. */
export interface ConnectionHost<C> {
  readonly env: StackEnv;
  readonly counters: TcpCounters;
  /** Connections per state, by state number (a connection bumps two slots on a change). */
  readonly stateCounts: Int32Array;
  /** Send-buffer blocks, shared by the stack's connections. */
  readonly blocks: BlockPool;
  readonly timeWait: TimeWaitTable;
  /** `c` has something to send: it goes on the ready list (once). `fromUser`: outside a burst, so wake the loop. */
  markReady(c: C, fromUser: boolean): void;
  /** `t`'s callbacks (event bits `ev`) run at the next safe point. */
  queueEvent(t: EventTarget, ev: number): void;
  /** Runs the callbacks owed now (a safe point: a timer's end). */
  flush(): void;
  /** A segment sent without a connection (a RST, the ACK of a connection that is gone); `tsVal` < 0: no timestamps. */
  queueBare(local: number, remote: number, localPort: number, remotePort: number, seq: number, ack: number, flags: number, window: number, tsVal: number, tsEcr: number): void;
  queueReset(local: number, remote: number, localPort: number, remotePort: number, seq: number, ack: number, flags: number): void;
  /** The ISN for `c` (RFC 6528) and our timestamp offset towards a peer (RFC 7323 §5.4). */
  isnFor(c: C, now: number): number;
  tsOffsetFor(local: number, remote: number): number;
  /** `c` reached CLOSED: out of the table. */
  removeConnection(c: C): void;
  /** `c` enters TIME_WAIT: a compact record takes over; its slot, or -1 when the table is full. */
  adoptTimeWait(c: C, state: TimeWaitState, now: number): number;
  /** `c`, out of the table, still holds data the application has not read (freed at teardown). */
  holdUnread(c: C, hold: boolean): void;
}

/** The listener a passive connection came from, as the connection sees it. */
export interface Acceptor<C> {
  /** The handshake of `c` completed: into the accept queue, or false when it is full. */
  established(c: C): boolean;
  /** `c` is gone before anyone took it. */
  forget(c: C): void;
}

/** What a listener asks of its host, besides what a connection does. */
export interface ListenerHost<C> extends ConnectionHost<C> {
  readonly cookies: SynCookies;
  /** A new connection in the table (its local port counted as used). */
  insert(c: C): void;
  /** The listener on `port` stops listening. */
  removeListener(l: { readonly port: number }): void;
  /** Whether a segment is being received now (else what is queued must wake the loop). */
  readonly receiving: boolean;
}
