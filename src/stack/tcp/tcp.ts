/**
 * TCP for one shard's stack (L4Protocol 6): demultiplexing by 4-tuple, listeners,
 * connection-less RSTs, a ready list for pulled transmit, deferred callbacks, counters.
 *
 * Lookup: a hash table of connections keyed by the 4-tuple (table.ts), then the
 * compact TIME_WAIT records (time-wait.ts), then the listeners (listener.ts: what
 * happens to a SYN). When callbacks run and segments leave: host.ts.
 * Transmit: connections with something to send sit once each on a FIFO ready list;
 * `pull` takes the first, asks it for one segment and, if it gave one, puts it back at
 * the end (round-robin); a connection with nothing to send costs nothing.
 */
import { Packet } from '../../packet/packet.js';
import { writeU16, writeU32, type Ipv4Address } from '../../wire/addr.js';
import { pseudoHeaderSum } from '../../wire/checksum.js';
import { seqAdd } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import type { StackEnv } from '../env.js';
import { L4_HEADROOM, type IcmpErrorInfo, type L4Out, type L4Protocol } from '../l4.js';
import { TcpConnection } from './connection.js';
import { newTcpCounters, type TcpCounters } from './counters.js';
import { tcpError, type EventTarget, type TcpErrorCode } from './events.js';
import { IsnGenerator } from './isn.js';
import type { ListenerHost } from './host.js';
import { TcpListener } from './listener.js';
import { DEFAULT_TCP_OPTIONS, resolveOptions, type ResolvedTcpOptions, type TcpOptions } from './options.js';
import { finishSegmentChecksum, PARSE_OK, parseSegment, SegmentInfo } from './segment.js';
import { packetChecksum } from '../../packet/checksum.js';
import { BlockPool } from './send-buffer.js';
import { STATE_NAMES } from './state.js';
import { ConnectionTable } from './table.js';
import { TimeWaitTable, type TimeWaitState } from './time-wait.js';
import { Fifo } from '../../util/fifo.js';
import { RecordQueue } from './record-queue.js';
import { SynCookies } from './syn-cookie.js';

export const IPPROTO_TCP = 6;
/** Segments sent without a connection (RSTs, TIME_WAIT ACKs) waiting for pull (bounded; beyond it, dropped and counted). */
const BARE_QUEUE = 256;
/** local, remote, local port, remote port, seq, ack, flags (| BARE_TS), window, TSval, TSecr. */
const BARE_FIELDS = 10;
/** Flag bit of a bare record: it carries the timestamps option. */
const BARE_TS = 0x100;

export interface ListenOptions {
  backlog?: number;
  /** Local address to accept on (default: any). */
  address?: Ipv4Address;
  /** Options for the connections this listener accepts. */
  options?: TcpOptions;
}

export interface ConnectOptions {
  dst: Ipv4Address;
  dstPort: number;
  srcPort?: number;
  options?: TcpOptions;
}

export class Tcp implements L4Protocol, ListenerHost<TcpConnection> {
  readonly protocol = IPPROTO_TCP;
  /** Connections per state (by state number); `counters.states` reads it. */
  readonly stateCounts = new Int32Array(STATE_NAMES.length);
  readonly counters: TcpCounters = newTcpCounters(this.stateCounts);
  readonly options: ResolvedTcpOptions;
  readonly blocks = new BlockPool();
  private readonly isn: IsnGenerator;
  readonly cookies: SynCookies;
  private readonly conns: ConnectionTable<TcpConnection>;
  private readonly listeners = new Map<number, TcpListener[]>();
  /** Connections (TIME_WAIT included) per local port. */
  private readonly portUse = new Uint32Array(65536);
  private readonly seg = new SegmentInfo();

  /** Connections with something to send, each once (inReady), oldest first. */
  private readonly ready = new Fifo<TcpConnection>();

  // deferred callbacks
  /** Targets with events to dispatch: eventQueue[0, eventCount); two lists swapped per round, reused. */
  private eventQueue: (EventTarget | null)[] = [];
  private eventCount = 0;
  private eventSpare: (EventTarget | null)[] = [];
  private dispatching = false;
  private inReceive = false;

  /** Segments without a connection (RSTs, TIME_WAIT ACKs), waiting for pull (bounded). */
  private readonly bare = new RecordQueue(BARE_QUEUE, BARE_FIELDS);
  /** Connections in TIME_WAIT, as compact records. */
  readonly timeWait: TimeWaitTable;
  /** Connections handed to the TIME_WAIT table with received data not yet read (freed at teardown). */
  private readonly unread = new Set<TcpConnection>();

  constructor(
    readonly env: StackEnv,
    options?: TcpOptions,
  ) {
    this.options = resolveOptions(DEFAULT_TCP_OPTIONS, options);
    this.isn = new IsnGenerator(env.random.nextU32(), env.random.nextU32());
    this.cookies = SynCookies.derivedFrom(this.isn);
    this.conns = new ConnectionTable(this.isn.hash3(0x65686173, 0x68736563, 5));
    this.timeWait = new TimeWaitTable(
      env.timers,
      this.isn.hash3(0x74696d65, 0x77616974, 7),
      this.options.maxTimeWait,
      this.counters,
      this.stateCounts,
      (l, r, lp, rp, seq, ack, flags, window, tsVal, tsEcr) => this.queueBare(l, r, lp, rp, seq, ack, flags, window, tsVal, tsEcr),
      (port) => this.portUse[port]!--,
    );
  }

  /** Connections in the table (any state but CLOSED, TIME_WAIT included). */
  get connections(): number {
    return this.conns.size + this.timeWait.size;
  }

  /** A segment is being received now (what is queued meanwhile goes out at the burst's end, no wake needed). */
  get receiving(): boolean {
    return this.inReceive;
  }

  /** True when something is queued to send (pull would return a packet, unless the pool is empty). */
  get wantsToSend(): boolean {
    return this.ready.size > 0 || this.bare.count > 0 || this.cookies.pending > 0;
  }

  // ================================================================ socket API

  /** Port 0 picks a free ephemeral port, as bind(0) does; `listener.port` says which. */
  listen(port: number, o: ListenOptions = {}): TcpListener {
    if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new RangeError(`bad port ${port}`);
    if (port === 0) {
      port = this.env.ephemeralPorts.forListen(this.portFree);
      if (port === 0) throw Object.assign(new Error('listen EADDRINUSE: no free ephemeral port (with shards: the port they agreed on is in use on this one)'), { code: 'EADDRINUSE' });
    }
    const address = o.address ?? 0;
    const list = this.listeners.get(port);
    if (list?.some((l) => l.address === 0 || address === 0 || l.address === address)) {
      throw Object.assign(new Error(`listen EADDRINUSE: port ${port}`), { code: 'EADDRINUSE' });
    }
    const opts = this.optionsFor(o.options);
    const backlog = Math.max(1, o.backlog ?? 511);
    const synBacklog = opts.synBacklog > 0 ? opts.synBacklog : Math.max(backlog, 128);
    const l = new TcpListener(this, port, address, backlog, synBacklog, opts);
    if (list) list.push(l);
    else this.listeners.set(port, [l]);
    this.counters.states.LISTEN++;
    return l;
  }

  connect(o: ConnectOptions): TcpConnection {
    const env = this.env;
    const now = env.clock.now();
    const opts = this.optionsFor(o.options);
    const src = env.sourceFor(o.dst);
    let port = o.srcPort ?? 0;
    if (port !== 0) {
      if (this.portUse[port]! > 0 || this.listeners.has(port)) {
        throw Object.assign(new Error(`connect EADDRINUSE: port ${port}`), { code: 'EADDRINUSE' });
      }
    } else {
      port = this.ephemeralPort(src ?? 0, o.dst, o.dstPort);
    }
    const c = new TcpConnection(this, src ?? 0, port, o.dst, o.dstPort, opts, false);
    if (src === null || port === 0) {
      // No free ephemeral port: EADDRNOTAVAIL, as Linux's connect() says.
      c.failNow(src === null ? 'ENETUNREACH' : 'EADDRNOTAVAIL');
      env.wake();
      return c;
    }
    this.counters.activeOpens++;
    this.insert(c);
    c.openActive(now);
    return c;
  }

  /**
   * A free port (no connection, TIME_WAIT or listener has it) for a connection to
   * `remote`:`remotePort`: RFC 6056's Algorithm 4 (ports.ts). 0 when none is free.
   */
  private ephemeralPort(local: number, remote: number, remotePort: number): number {
    return this.env.ephemeralPorts.choose(local, remote, remotePort, this.portFree);
  }

  /**
   * The stack's options with a connection's own on top, resolved once per distinct set:
   * applications pass the same few (noDelay, a buffer size) to every connect, and
   * resolving them costs a copy of every option each time (3% of a connection churn).
   */
  private optionsFor(over: TcpOptions | undefined): ResolvedTcpOptions {
    if (over === undefined) return this.options;
    let key = '';
    for (const k in over) {
      const v = (over as Record<string, unknown>)[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'string') return resolveOptions(this.options, over);
      key += `${k}=${String(v)};`;
    }
    if (key === '') return this.options;
    let r = this.resolved.get(key);
    if (r === undefined) {
      r = resolveOptions(this.options, over);
      if (this.resolved.size >= 32) this.resolved.clear();
      this.resolved.set(key, r);
    }
    return r;
  }

  private readonly resolved = new Map<string, ResolvedTcpOptions>();

  private readonly portFree = (p: number): boolean => this.portUse[p] === 0 && !this.listeners.has(p);

  // ================================================================ table

  lookup(local: number, localPort: number, remote: number, remotePort: number): TcpConnection | null {
    return this.conns.find(local, localPort, remote, remotePort);
  }

  insert(c: TcpConnection): void {
    this.conns.insert(c);
    this.portUse[c.localPort]!++;
  }

  /** Called by a connection as it reaches CLOSED. */
  removeConnection(c: TcpConnection): void {
    if (this.conns.remove(c)) this.portUse[c.localPort]!--;
  }

  removeListener(l: { readonly port: number }): void {
    const list = this.listeners.get(l.port);
    if (!list) return;
    const i = list.indexOf(l as TcpListener);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(l.port);
    this.counters.states.LISTEN--;
  }

  private findListener(port: number, dst: number): TcpListener | null {
    const list = this.listeners.get(port);
    if (!list) return null;
    for (const l of list) if (l.address === dst) return l;
    for (const l of list) if (l.address === 0) return l;
    return null;
  }

  isnFor(c: TcpConnection, now: number): number {
    return this.isn.isn(c.localAddress, c.localPort, c.remoteAddress, c.remotePort, now);
  }

  /** Our TS clock's offset towards `remote` (RFC 7323 §5.4: per address pair, isn.ts). */
  tsOffsetFor(local: number, remote: number): number {
    return this.isn.tsOffset(local, remote);
  }

  // ================================================================ receive

  receive(p: Packet, src: Ipv4Address, dst: Ipv4Address, now: number): void {
    const counters = this.counters;
    counters.segmentsIn++;
    this.inReceive = true;
    try {
      if (!p.csumVerified && packetChecksum(p, 0, pseudoHeaderSum(src, dst, IPPROTO_TCP, p.length)) !== 0) {
        counters.drops.badChecksum++;
        p.release();
        return;
      }
      const s = this.seg;
      if (parseSegment(p, s) !== PARSE_OK || s.srcPort === 0 || s.dstPort === 0) {
        counters.drops.malformed++;
        p.release();
        return;
      }
      p.trimFront(s.headerLength);
      const c = this.lookup(dst, s.dstPort, src, s.srcPort);
      if (c !== null) {
        c.segmentArrives(s, p, now);
        return;
      }
      if (this.timeWait.size > 0) {
        const tw = this.timeWait.find(dst, s.dstPort, src, s.srcPort);
        if (tw >= 0) {
          const l = (s.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN ? this.findListener(s.dstPort, dst) : null;
          if (l !== null && l.takesOverTimeWait(tw, s, now)) {
            this.timeWait.remove(tw);
            counters.timeWaitReused++;
          } else {
            this.timeWait.arrives(tw, s, p.length, now);
            p.release();
            return;
          }
        }
      }
      const l = this.findListener(s.dstPort, dst);
      if (l !== null) {
        l.segmentArrives(s, p, src, dst, now);
        return;
      }
      counters.drops.noListener++;
      this.replyReset(s, p.length, src, dst);
      p.release();
    } catch {
      // A bug must not take the stack down with it: count and drop.
      counters.drops.internalError++;
      p.release();
    } finally {
      this.inReceive = false;
    }
  }

  /** The RST for a segment nobody wants (RFC 9293 §3.10.7.1); never for a RST. */
  private replyReset(s: SegmentInfo, len: number, src: number, dst: number): void {
    const f = s.flags;
    if (f & TCP_RST) return;
    if (f & TCP_ACK) this.queueReset(dst, src, s.dstPort, s.srcPort, s.ack, 0, TCP_RST);
    else {
      const segLen = len + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0);
      this.queueReset(dst, src, s.dstPort, s.srcPort, 0, seqAdd(s.seq, segLen), TCP_RST | TCP_ACK);
    }
  }

  queueReset(local: number, remote: number, localPort: number, remotePort: number, seq: number, ack: number, flags: number): void {
    this.queueBare(local, remote, localPort, remotePort, seq, ack, flags, 0, -1, 0);
  }

  /** Remembers (or forgets) a connection out of the table that still holds unread data. */
  holdUnread(c: TcpConnection, hold: boolean): void {
    if (hold) this.unread.add(c);
    else this.unread.delete(c);
  }

  /** Queues a segment sent without a connection; `tsVal` < 0: no timestamps option. */
  queueBare(local: number, remote: number, localPort: number, remotePort: number, seq: number, ack: number, flags: number, window: number, tsVal: number, tsEcr: number): void {
    const i = this.bare.push();
    if (i < 0) {
      this.counters.drops.rstQueueFull++;
      return;
    }
    const r = this.bare.data;
    r[i] = local;
    r[i + 1] = remote;
    r[i + 2] = localPort;
    r[i + 3] = remotePort;
    r[i + 4] = seq;
    r[i + 5] = ack;
    r[i + 6] = tsVal >= 0 ? flags | BARE_TS : flags;
    r[i + 7] = window;
    r[i + 8] = tsVal;
    r[i + 9] = tsEcr;
    if (!this.inReceive) this.env.wake();
  }

  /**
   * Takes over `c` as it enters TIME_WAIT: a compact record answers for its 4-tuple
   * from now on (its local port stays in use), and the connection leaves the table.
   * Returns the record's slot, or -1 when the TIME_WAIT table is full: the caller
   * closes without TIME_WAIT.
   */
  adoptTimeWait(c: TcpConnection, state: TimeWaitState, now: number): number {
    const slot = this.timeWait.add(state, now);
    if (slot < 0) {
      this.counters.drops.timeWaitFull++;
      return -1;
    }
    this.conns.remove(c);
    return slot;
  }

  icmpError(info: IcmpErrorInfo, _now: number): void {
    const c = this.lookup(info.src, info.srcPort, info.dst, info.dstPort);
    if (c === null) return;
    if (info.type === 3 && info.code === 4) {
      if (info.mtu > 0) c.pathMtuChanged(info.mtu, info.seq);
    } else if (info.type === 3) {
      const code: TcpErrorCode | null =
        info.code === 0 || info.code === 6 || info.code === 11 ? 'ENETUNREACH'
        : info.code === 1 || info.code === 7 || info.code === 12 || info.code === 10 || info.code === 9 || info.code === 13 ? 'EHOSTUNREACH'
        : info.code === 2 || info.code === 3 ? 'ECONNREFUSED'
        : null;
      if (code !== null) c.icmpUnreachable(code, info.seq);
    }
    this.flush();
  }

  // ================================================================ transmit

  /** Puts `c` on the ready list (once). `fromUser`: outside a receive burst, so the loop must wake. */
  markReady(c: TcpConnection, fromUser: boolean): void {
    if (c.inReady) return;
    c.inReady = true;
    this.ready.push(c);
    if (fromUser && !this.inReceive) this.env.wake();
  }

  pull(out: L4Out, now: number): Packet | null {
    if (this.eventCount > 0) this.flush();
    if (this.bare.count > 0) {
      const p = this.buildBare(out);
      if (p !== null) return p;
    }
    if (this.cookies.pending > 0) {
      const p = this.cookies.build(this.env, out);
      if (p !== null) {
        this.counters.segmentsOut++;
        return p;
      }
      this.counters.drops.noBuffer++;
    }
    while (this.ready.size > 0) {
      const c = this.ready.shift()!;
      c.inReady = false;
      const p = c.output(now);
      if (p !== null) {
        out.src = c.localAddress;
        out.dst = c.remoteAddress;
        out.df = true;
        out.tos = 0;
        out.ttl = 0;
        // Round-robin: if it may have more, it goes to the back.
        if (c.mayOutput) this.markReady(c, false);
        return p;
      }
      if (this.env.pool.available === 0) {
        // Out of frames: keep it for the next pull rather than spinning.
        this.markReady(c, false);
        return null;
      }
    }
    if (this.eventCount > 0) this.flush();
    return null;
  }

  private buildBare(out: L4Out): Packet | null {
    const p = Packet.alloc(this.env.pool, L4_HEADROOM);
    if (p === null) {
      this.counters.drops.noBuffer++;
      return null;
    }
    const i = this.bare.shift();
    const r = this.bare.data;
    const local = r[i]!;
    const remote = r[i + 1]!;
    const flags = r[i + 6]! & 0xff;
    const ts = (r[i + 6]! & BARE_TS) !== 0;
    const hl = ts ? 32 : 20;
    const at = p.append(hl);
    const b = p.bufs[0]!;
    writeU16(b, at, r[i + 2]!);
    writeU16(b, at + 2, r[i + 3]!);
    writeU32(b, at + 4, r[i + 4]!);
    writeU32(b, at + 8, flags & TCP_ACK ? r[i + 5]! : 0);
    b[at + 12] = (hl >>> 2) << 4;
    b[at + 13] = flags;
    writeU16(b, at + 14, r[i + 7]!);
    b[at + 16] = b[at + 17] = b[at + 18] = b[at + 19] = 0;
    if (ts) {
      // NOP, NOP, timestamps (RFC 7323 Appendix A layout, as Linux).
      b[at + 20] = 1;
      b[at + 21] = 1;
      b[at + 22] = 8;
      b[at + 23] = 10;
      writeU32(b, at + 24, r[i + 8]!);
      writeU32(b, at + 28, r[i + 9]!);
    }
    finishSegmentChecksum(p, at, local, remote, this.env.features.txCsumL4);
    out.src = local;
    out.dst = remote;
    out.df = true;
    out.tos = 0;
    out.ttl = 0;
    this.counters.segmentsOut++;
    if (flags & TCP_RST) this.counters.resetsSent++;
    return p;
  }

  /**
   * Drops everything (the stack is being torn down): every connection goes without a
   * RST, every listener closes, queued RSTs are forgotten; buffers and timers are freed.
   * onClose callbacks run (with ECONNABORTED) at the end.
   */
  clear(): void {
    const all = this.conns.all();
    for (const list of [...this.listeners.values()]) for (const l of [...list]) l.close();
    for (const c of all) c.destroy(tcpError('ECONNABORTED'));
    this.timeWait.clear();
    for (const c of this.unread) c.dropUnread();
    this.unread.clear();
    this.bare.clear();
    this.cookies.clear();
    this.ready.clear((c) => (c.inReady = false));
    this.flush();
  }

  // ================================================================ events

  queueEvent(t: EventTarget, ev: number): void {
    t.events |= ev;
    if (!t.inEventQueue) {
      t.inEventQueue = true;
      this.eventQueue[this.eventCount++] = t;
      if (!this.inReceive) this.env.wake();
    }
  }

  /**
   * Runs the callbacks queued since the last flush (at a safe point: not inside a
   * user's call or in the middle of a segment). pull() flushes too; the stack may call
   * this at the end of each receive burst so callbacks come once per burst.
   */
  flush(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let round = 0; round < 16 && this.eventCount > 0; round++) {
        const q = this.eventQueue;
        const n = this.eventCount;
        this.eventQueue = this.eventSpare;
        this.eventCount = 0;
        this.eventSpare = q;
        for (let i = 0; i < n; i++) {
          const t = q[i]!;
          q[i] = null;
          t.inEventQueue = false;
          try {
            t.dispatchEvents();
          } catch (e) {
            // A throwing callback must not stall the others: report it as Node does an emitter's.
            queueMicrotask(() => {
              throw e;
            });
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
  }
}
