/**
 * The zero-copy completion API (libVMA's SocketXtreme, in TypeScript): the application
 * polls for completions instead of taking a callback per event, receives data as the
 * receive frames it came in (no copy; it releases them), and hands over the buffers it
 * sends (no copy; they come back in a 'sent' completion once acknowledged, or once the
 * connection is gone).
 *
 *   const cq = new CompletionQueue(stack);
 *   cq.listen(11211);
 *   for (;;) {                       // or from cq.onReady, once per batch
 *     const n = cq.poll(64);
 *     for (let i = 0; i < n; i++) {
 *       const c = cq.completions[i];
 *       if (c.kind === 'data') { use(c.data); cq.release(c.data); }
 *     }
 *   }
 *
 * Underneath, the stack's callbacks only mark a socket ready (a bit and a place in a
 * ring, like epoll's ready list); poll() turns ready sockets into completions. The
 * Completion objects are reused from poll to poll: read them before the next poll.
 */

import type { Packet } from '../../packet/packet.js';
import type { Owner } from '../../packet/owner.js';
import type { Stack } from '../../stack/stack.js';
import { EV_CONNECTION, type EventTarget, type TcpConnection, type TcpError, type TcpListener } from '../../stack/tcp/index.js';
import { parseIpv4 } from '../../wire/addr.js';
import { Fifo } from '../../util/fifo.js';

export type CompletionKind = 'accepted' | 'connected' | 'data' | 'writable' | 'sent' | 'end' | 'closed';

export interface Completion {
  kind: CompletionKind;
  socket: ZcSocket;
  /** 'accepted': the listener it came from. */
  listener: ZcListener | null;
  /**
   * 'data': received bytes, as the receive frames hold them — read-only (on a memory
   * link they may be the sender's own memory); release with `cq.release()`.
   */
  data: Packet | null;
  /** 'sent': the buffer given to send(), the application's again: acknowledged, or the connection is gone. */
  buffer: Uint8Array | null;
  /** 'closed': why (null: a clean close). */
  error: TcpError | null;
}

export interface CompletionQueueOptions {
  /**
   * Bytes of received packets the application may hold (taken in 'data' completions,
   * not yet released) before data is left in TCP, whose window then closes. Charged by
   * what each packet keeps alive (its truesize: a 2 KB frame for a 1-byte packet, 64 KB
   * for a large receive frame), not by its data. Default 2 MiB: 1,024 frames of 2 KB,
   * well below a device's receive pool (and the stack copies rather than keep a pool's
   * last frames, so even a slow application cannot empty one).
   */
  maxHeldBytes?: number;
}

const F_CONNECTED = 1;
const F_READABLE = 2;
const F_WRITABLE = 4;
const F_END = 8;
const F_CLOSED = 16;

/** A connection seen through the completion API. */
export class ZcSocket {
  /** Free for the application (e.g. its per-connection state). */
  userData: unknown = null;
  /** @internal ready bits and whether it sits in the ready ring. */
  flags = 0;
  /** @internal */
  queued = false;
  /** @internal */
  closeError: TcpError | null = null;

  constructor(
    private readonly cq: CompletionQueue,
    readonly connection: TcpConnection,
  ) {}

  get remoteAddress(): number {
    return this.connection.remoteAddress;
  }

  get remotePort(): number {
    return this.connection.remotePort;
  }

  get localPort(): number {
    return this.connection.localPort;
  }

  /**
   * Copies up to `length` bytes into the send buffer (for small messages a copy costs
   * less than handing a buffer over); returns how many it took ('writable' follows a
   * short count).
   */
  write(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number {
    return this.connection.write(bytes, offset, length);
  }

  /**
   * Sends `buffer` without copying it: it must not change until it comes back in a
   * 'sent' completion. False (nothing taken) when the send buffer has no room for it:
   * a 'writable' completion follows.
   */
  send(buffer: Uint8Array): boolean {
    return this.connection.writeOwned(buffer, new SentOwner(this.cq, this, buffer));
  }

  /** Turns Nagle's algorithm off (on: false) or on. */
  setNoDelay(on = true): void {
    this.connection.setNoDelay(on);
  }

  /** Sends FIN after what was sent (half-close). */
  end(): void {
    this.connection.shutdown();
  }

  close(): void {
    this.connection.close();
  }

  abort(): void {
    this.connection.abort();
  }
}

/** A listening port: its connections arrive as 'accepted' completions. */
export class ZcListener {
  /** @internal */
  queued = false;

  constructor(readonly listener: TcpListener) {}

  get port(): number {
    return this.listener.port;
  }

  close(): void {
    this.listener.close();
  }
}

/** What a 'sent' completion carries, waiting for poll(). */
class SentOwner implements Owner {
  constructor(
    private readonly cq: CompletionQueue,
    private readonly socket: ZcSocket,
    private readonly buffer: Uint8Array,
  ) {}

  release(): void {
    this.cq.sentDone(this.socket, this.buffer);
  }
}

export class CompletionQueue implements EventTarget {
  /** Filled by poll(): completions[0, n). Reused: read them before the next poll. */
  readonly completions: Completion[] = [];
  /**
   * Called when completions are waiting, once per batch: at the end of the stack's
   * round of callbacks (in the same loop pass, so what it sends leaves in that pass).
   */
  onReady: (() => void) | null = null;
  /** @internal the Tcp's deferred-callback queue (EventTarget). */
  events = 0;
  /** @internal */
  inEventQueue = false;
  private readonly maxHeldBytes: number;
  /** Received packets handed out and not yet released, and what they keep alive (truesize). */
  private held = 0;
  private heldCharge = 0;
  /** Readable sockets left alone while the application held too much. */
  private readonly pendingRequeue = new Set<ZcSocket>();
  /** Sockets with news, each once (`queued`), oldest first. */
  private readonly ready = new Fifo<ZcSocket>();
  private readonly listeners: ZcListener[] = [];
  private listenersReady = 0;
  private sent: (ZcSocket | Uint8Array)[] = [];
  private sentHead = 0;

  constructor(
    readonly stack: Stack,
    options: CompletionQueueOptions = {},
  ) {
    if ('maxHeld' in options) throw new RangeError('maxHeld (packets) is now maxHeldBytes: the bytes of memory held packets keep alive');
    this.maxHeldBytes = options.maxHeldBytes ?? 2 << 20;
    if (!(Number.isInteger(this.maxHeldBytes) && this.maxHeldBytes > 0)) throw new RangeError(`maxHeldBytes must be a positive integer, got ${this.maxHeldBytes}`);
  }

  /** Received packets the application holds (taken in 'data' completions, not released). */
  get heldPackets(): number {
    return this.held;
  }

  /** What the packets the application holds keep alive (bytes of truesize; bounded by maxHeldBytes). */
  get heldBytes(): number {
    return this.heldCharge;
  }

  listen(port: number, options: { backlog?: number; address?: string } = {}): ZcListener {
    const l = this.stack.tcp.listen(port, { backlog: options.backlog, address: options.address !== undefined ? parseIpv4(options.address) : undefined });
    const zl = new ZcListener(l);
    l.onAcceptable = () => {
      if (zl.queued) return;
      zl.queued = true;
      this.listeners.push(zl);
      this.listenersReady++;
      this.notify();
    };
    return zl;
  }

  /** Opens a connection: a 'connected' completion follows, or 'closed' with the error. */
  connect(host: string, port: number): ZcSocket {
    const c = this.stack.tcp.connect({ dst: parseIpv4(host), dstPort: port });
    return this.adopt(c);
  }

  /** Gives back a packet from a 'data' completion (once; trimmed or not). */
  release(p: Packet): void {
    if (p.isReleased) return;
    const wasFull = this.heldCharge >= this.maxHeldBytes;
    this.held--;
    this.heldCharge -= p.charged;
    p.release();
    if (wasFull && this.heldCharge < this.maxHeldBytes) this.requeueReadable();
  }

  /**
   * Up to `max` completions into `completions[0, n)`; returns n. Order per socket:
   * connected, data, writable, end, closed; 'sent' completions come first.
   */
  poll(max = 64): number {
    let n = 0;
    // Buffers acknowledged since the last poll.
    while (n < max && this.sentHead < this.sent.length) {
      const socket = this.sent[this.sentHead++] as ZcSocket;
      const buffer = this.sent[this.sentHead++] as Uint8Array;
      this.fill(n++, 'sent', socket, null, null, buffer, null);
    }
    if (this.sentHead === this.sent.length) {
      this.sent.length = 0;
      this.sentHead = 0;
    } else if (this.sentHead > 1024 && this.sentHead * 2 > this.sent.length) {
      // Polled with a small `max` while sends complete: drop what was taken.
      this.sent.splice(0, this.sentHead);
      this.sentHead = 0;
    }
    // New connections.
    while (n < max && this.listenersReady > 0) {
      const zl = this.listeners[0]!;
      const c = zl.listener.accept();
      if (c === null) {
        this.listeners.shift();
        this.listenersReady--;
        zl.queued = false;
        continue;
      }
      const s = this.adopt(c);
      s.flags &= ~F_CONNECTED;
      this.fill(n++, 'accepted', s, zl, null, null, null);
    }
    // Sockets with news.
    while (n < max && this.ready.size > 0) {
      const s = this.ready.peek()!;
      const f = s.flags;
      const c = s.connection;
      if (f & F_CONNECTED) {
        s.flags &= ~F_CONNECTED;
        this.fill(n++, 'connected', s, null, null, null, null);
        continue;
      }
      if (f & F_READABLE) {
        if (this.heldCharge >= this.maxHeldBytes) {
          // The application holds enough: the data stays in TCP (whose window closes)
          // until a release; 'writable' still comes (end and closed wait for the data).
          if (f & F_WRITABLE) {
            s.flags &= ~F_WRITABLE;
            this.fill(n++, 'writable', s, null, null, null, null);
            continue;
          }
          this.pendingRequeue.add(s);
          this.dequeue();
          continue;
        }
        const p = c.readPacket();
        if (p !== null) {
          this.held++;
          // What it keeps alive now: the application may yet make it hold more (front()).
          p.charged = p.truesize;
          this.heldCharge += p.charged;
          this.fill(n++, 'data', s, null, p, null, null);
          continue;
        }
        s.flags &= ~F_READABLE;
      }
      if (s.flags & F_WRITABLE) {
        s.flags &= ~F_WRITABLE;
        this.fill(n++, 'writable', s, null, null, null, null);
        continue;
      }
      if (s.flags & F_END && c.readableLength === 0) {
        s.flags &= ~F_END;
        this.fill(n++, 'end', s, null, null, null, null);
        continue;
      }
      if (s.flags & F_CLOSED && c.readableLength === 0) {
        s.flags = 0;
        this.fill(n++, 'closed', s, null, null, null, s.closeError);
        this.dequeue();
        continue;
      }
      this.dequeue();
    }
    return n;
  }

  /** @internal a buffer given to send() is acknowledged. */
  sentDone(socket: ZcSocket, buffer: Uint8Array): void {
    this.sent.push(socket, buffer);
    this.notify();
  }

  private adopt(c: TcpConnection): ZcSocket {
    const s = new ZcSocket(this, c);
    c.onConnect = () => this.mark(s, F_CONNECTED);
    c.onReadable = () => this.mark(s, F_READABLE);
    c.onWritable = () => this.mark(s, F_WRITABLE);
    c.onEnd = () => this.mark(s, F_END);
    c.onClose = (error) => {
      s.closeError = error ?? null;
      this.mark(s, F_CLOSED);
    };
    // Data that came with the handshake is already queued.
    if (c.readableLength > 0) this.mark(s, F_READABLE);
    return s;
  }

  private mark(s: ZcSocket, flag: number): void {
    s.flags |= flag;
    if (!s.queued) this.enqueue(s);
    this.notify();
  }

  private enqueue(s: ZcSocket): void {
    s.queued = true;
    this.ready.push(s);
  }

  private dequeue(): void {
    this.ready.shift()!.queued = false;
  }

  /** Below the held limit again: the sockets left alone go back on the ready ring (TCP raises no new event for old data). */
  private requeueReadable(): void {
    for (const s of this.pendingRequeue) if (!s.queued) this.enqueue(s);
    this.pendingRequeue.clear();
    this.notify();
  }

  private fill(i: number, kind: CompletionKind, socket: ZcSocket, listener: ZcListener | null, data: Packet | null, buffer: Uint8Array | null, error: TcpError | null): void {
    let c = this.completions[i];
    if (c === undefined) {
      c = { kind, socket, listener, data, buffer, error };
      this.completions[i] = c;
      return;
    }
    c.kind = kind;
    c.socket = socket;
    c.listener = listener;
    c.data = data;
    c.buffer = buffer;
    c.error = error;
  }

  /** Asks the Tcp to call dispatchEvents() after the callbacks of this round. */
  private notify(): void {
    if (this.onReady !== null) this.stack.tcp.queueEvent(this, EV_CONNECTION);
  }

  /** @internal called by the Tcp at a safe point, once per round with news. */
  dispatchEvents(): void {
    this.events = 0;
    this.onReady?.();
  }
}
