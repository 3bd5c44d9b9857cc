/**
 * `Socket`: node:net's Socket on a Shoal TCP connection, a real `stream.Duplex`.
 *
 * Writing: `_write` hands the bytes to `TcpConnection.write` (which copies what fits
 * into the send buffer) and calls back only when all of them were taken, going on at
 * `onWritable`; the stream buffers the writes behind it, so `write()` returns false at
 * the highWaterMark and 'drain' follows, as with a kernel socket.
 * Reading: `_read` switches reading from TCP on; each chunk is copied once, out of the
 * receive queue into a Buffer the stream owns; when `push()` says the stream is full,
 * reading stops and the rest stays in the TCP receive queue, so the advertised window
 * closes and back pressure reaches the peer (Node's readStop()).
 *
 * Errors follow Node's and the Linux kernel's: `connect ECONNREFUSED a:p`, `read
 * ECONNRESET`, `write EPIPE`... An error from TCP reaches the stream the way a kernel
 * error reaches libuv: at once while reading or writing, otherwise at the next read or
 * write (a paused socket does not see a reset until it reads or writes).
 */
import { Duplex } from 'node:stream';
import type { Stack } from '../../stack/stack.js';
import type { TcpConnection } from '../../stack/tcp/connection.js';
import type { TcpError } from '../../stack/tcp/events.js';
import type { TcpOptions } from '../../stack/tcp/options.js';
import { formatIpv4, type Ipv4Address } from '../../wire/addr.js';
import { addressInfo, parseHost, type AddressInfo } from './address.js';
import { normalizeArgs } from './args.js';
import { keepAliveOptions, parseConnectOptions, type ConnectRequest } from './connect-options.js';
import { codedError, describeValue, errnoException, exceptionWithHostPort, notFound, type SystemError } from '../node-errors.js';
import { IdleTimer } from './idle-timer.js';

/** Largest chunk read out of TCP at once (libuv reads into 64 KiB buffers). */
const READ_CHUNK = 64 * 1024;
/** Node's TIMEOUT_MAX: longer timeouts are clamped to it. */
const TIMEOUT_MAX = 2 ** 31 - 1;

export interface SocketOptions {
  /** Keep our side open after the peer's FIN (default false: end it, as Node). */
  allowHalfOpen?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  /** ms before the first keepalive probe (whole seconds are used, as Node). */
  keepAliveInitialDelay?: number;
  highWaterMark?: number;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
  signal?: AbortSignal;
}

export interface SocketConnectOptions {
  port: number | string;
  /** An IPv4 address (names resolve to ENOTFOUND: Shoal has no resolver). Default 'localhost', as Node. */
  host?: string;
  localAddress?: string;
  localPort?: number;
  family?: number;
  /** Idle timeout (ms): `setTimeout(timeout)`. */
  timeout?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

/** A connection a server accepted, with what the server wants for it. */
export interface Accepted {
  conn: TcpConnection;
  pauseOnCreate: boolean;
  /** Called once when the socket is destroyed (the server counts its connections). */
  onDestroyed: () => void;
}

type WriteCallback = (error?: Error | null) => void;

/** Bytes handed to `_write`/`_writev` that TCP has not taken yet. */
interface PendingWrite {
  chunks: Buffer[];
  index: number;
  offset: number;
  bytes: number;
  cb: WriteCallback;
}

export class Socket extends Duplex {
  /** True from connect() until the connection is made or fails. */
  connecting = false;
  /** The idle timeout given to setTimeout (undefined until then), as Node's `socket.timeout`. */
  timeout: number | undefined = undefined;
  /** The server that accepted this socket (null for client sockets); http sets it too. */
  server: unknown = null;

  readonly #stack: Stack;
  #conn: TcpConnection | null = null;
  /** Reading from TCP is on (Node's handle.reading): `_read` turns it on, a full stream off. */
  #reading = false;
  #pulling = false;
  #pending: PendingWrite | null = null;
  /** An error TCP reported that the stream has not seen yet (see the header). */
  #held: string | null = null;
  #bytesRead = 0;
  #bytesDispatched = 0;
  readonly #idle: IdleTimer;
  #noDelay: boolean;
  #keepAlive: boolean;
  /** Seconds (Node keeps the initial delay in whole seconds). */
  #keepAliveDelay: number;
  #resetOnDestroy = false;
  #endedByPeer = false;
  #peer: { address: Ipv4Address; port: number } | null = null;
  #remote: { address: string; port: number } | null = null;
  #localBind: { address: string; port: number } | undefined = undefined;
  #onDestroyed: (() => void) | null = null;
  /** connect() was called or the socket was accepted (Node has made its handle). */
  #opened = false;

  constructor(stack: Stack, options: SocketOptions = {}, accepted?: Accepted) {
    super({
      allowHalfOpen: Boolean(options.allowHalfOpen),
      // As Node's net.Socket: 'close' is emitted by the socket itself (after the handle closes).
      emitClose: false,
      autoDestroy: true,
      // Strings become Buffers before _write, so every chunk TCP sees is bytes.
      decodeStrings: true,
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      ...(options.readableHighWaterMark !== undefined ? { readableHighWaterMark: options.readableHighWaterMark } : {}),
      ...(options.writableHighWaterMark !== undefined ? { writableHighWaterMark: options.writableHighWaterMark } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    this.#stack = stack;
    this.#idle = new IdleTimer(stack.env, () => this.#onIdle());
    this.#noDelay = Boolean(options.noDelay);
    this.#keepAlive = Boolean(options.keepAlive);
    this.#keepAliveDelay = ~~((options.keepAliveInitialDelay ?? 0) / 1000);
    // Node: after the peer's FIN, a socket that may not stay half-open refuses writes with EPIPE.
    this.on('end', () => {
      this.#endedByPeer = true;
    });
    if (accepted !== undefined) {
      this.#onDestroyed = accepted.onDestroyed;
      this.#opened = true;
      this.#attach(accepted.conn);
      if (accepted.pauseOnCreate) (this as { readableFlowing: boolean | null }).readableFlowing = false;
      else this.read(0);
    }
  }

  // ================================================================ connecting

  connect(options: SocketConnectOptions, connectListener?: () => void): this;
  connect(port: number | string, host?: string, connectListener?: () => void): this;
  connect(port: number | string, connectListener?: () => void): this;
  connect(...args: unknown[]): this {
    const { options, cb } = normalizeArgs(args);
    if (this.connecting) throw codedError('ERR_SOCKET_CONNECTING', 'Socket is already connecting');
    if (this.#conn !== null || this.destroyed) {
      throw codedError('ERR_SOCKET_CLOSED', 'Socket is closed (Shoal sockets connect once, with no reconnect after close: make a new Socket)');
    }
    const r = parseConnectOptions(options);
    if (r.noDelay !== undefined) this.#noDelay = r.noDelay;
    if (r.keepAlive !== undefined) this.#keepAlive = r.keepAlive;
    if (r.keepAliveDelay !== undefined) this.#keepAliveDelay = r.keepAliveDelay;
    if (r.timeout) this.setTimeout(r.timeout);
    if (cb !== null) this.once('connect', cb as () => void);
    this.#idle.touch();
    this.connecting = true;
    this.#opened = true;
    const parsed = parseHost(r.host);
    if (parsed.kind === 'name') {
      // As a failed dns.lookup: 'lookup' with the error, then the error (a tick later).
      const err = notFound(r.host);
      process.nextTick(() => {
        this.emit('lookup', err, undefined, undefined, r.host);
        if (this.connecting) process.nextTick(() => this.destroy(err));
      });
      return this;
    }
    // Node connects to an address on the next tick (after the caller's listeners are on).
    process.nextTick(() => {
      if (this.connecting) this.#open(parsed.kind === 'ipv4' ? parsed.address : null, r);
    });
    return this;
  }

  /** The connect itself (Node's internalConnect): bind checks, then TCP's active open. */
  #open(dst: Ipv4Address | null, r: ConnectRequest): void {
    const { host, port, localAddress, localPort } = r;
    const tcp = this.#stack.tcp;
    const ours = this.#stack.address;
    const bindAddress = localAddress ?? '0.0.0.0';
    if (localAddress !== undefined || localPort !== undefined) {
      const local = localAddress === undefined ? null : parseHost(localAddress);
      if (local !== null && !(local.kind === 'ipv4' && (local.address === 0 || local.address === ours))) {
        this.destroy(exceptionWithHostPort('EADDRNOTAVAIL', 'bind', bindAddress, localPort ?? 0));
        return;
      }
      // Node reports the local end of a failed connect only when both were given.
      if (localAddress !== undefined && localPort) this.#localBind = { address: localAddress, port: localPort };
    }
    if (dst === null) {
      // An IPv6 address: this stack has no IPv6 route (as Linux: connect ENETUNREACH).
      this.destroy(exceptionWithHostPort('ENETUNREACH', 'connect', host, port));
      return;
    }
    if (dst === ours || dst >>> 24 === 127) {
      // The stack delivers nothing to itself (no loopback): say so now rather than after
      // ARP gives up on our own address, or a gateway is sent what is ours.
      const e = exceptionWithHostPort('ENETUNREACH', 'connect', host, port);
      e.cause = new Error('Shoal has no loopback: a host cannot connect to its own address or 127.0.0.0/8');
      this.destroy(e);
      return;
    }
    const tcpOptions: TcpOptions = {};
    if (this.#noDelay) tcpOptions.noDelay = true;
    if (this.#keepAlive) Object.assign(tcpOptions, keepAliveOptions(this.#keepAliveDelay));
    let conn: TcpConnection;
    try {
      conn = tcp.connect({ dst, dstPort: port, ...(localPort ? { srcPort: localPort } : {}), options: tcpOptions });
    } catch (e) {
      const code = (e as { code?: unknown }).code === 'EADDRINUSE' ? 'EADDRINUSE' : 'EINVAL';
      this.destroy(exceptionWithHostPort(code, 'bind', bindAddress, localPort ?? 0));
      return;
    }
    this.#remote = { address: host, port };
    this.#attach(conn);
  }

  #attach(conn: TcpConnection): void {
    this.#conn = conn;
    conn.onConnect = () => this.#onConnect();
    conn.onReadable = () => {
      if (this.#reading) this.#pull();
    };
    conn.onWritable = () => this.#continueWrite();
    conn.onEnd = () => this.#onTcpEnd();
    conn.onClose = (error) => this.#onTcpClose(error);
    if (!conn.passive) return;
    this.#peer = { address: conn.remoteAddress, port: conn.remotePort };
    if (this.#noDelay) conn.setNoDelay(true);
    if (this.#keepAlive) this.#applyKeepAlive(conn);
  }

  #applyKeepAlive(conn: TcpConnection): void {
    const o = keepAliveOptions(this.#keepAliveDelay);
    conn.setKeepAlive(this.#keepAlive, o.keepAliveIdle, o.keepAliveInterval, o.keepAliveCount);
  }

  #onConnect(): void {
    const conn = this.#conn;
    if (conn === null || !this.connecting) return;
    this.connecting = false;
    this.#peer = { address: conn.remoteAddress, port: conn.remotePort };
    this.#idle.touch();
    // Node's afterConnect: 'connect', then 'ready', then the first read.
    this.emit('connect');
    this.emit('ready');
    if (!this.destroyed && !this.isPaused()) this.read(0);
  }

  // ================================================================ reading

  override _read(): void {
    if (this.connecting || this.#conn === null) {
      this.once('connect', () => this._read());
      return;
    }
    this.#reading = true;
    if (this.#held !== null) {
      this.#surface('read');
      return;
    }
    this.#pull();
  }

  /** Moves received bytes from TCP into the stream while it wants more. */
  #pull(): void {
    if (this.#pulling) return;
    this.#pulling = true;
    try {
      while (this.#reading) {
        const conn = this.#conn;
        if (conn === null) return;
        const n = conn.readableLength;
        if (n === 0) return;
        const buf = Buffer.allocUnsafe(n < READ_CHUNK ? n : READ_CHUNK);
        const got = conn.readInto(buf, 0, buf.length);
        if (got === 0) return;
        this.#bytesRead += got;
        this.#idle.touch();
        if (!this.push(got === buf.length ? buf : buf.subarray(0, got))) this.#reading = false;
      }
    } finally {
      this.#pulling = false;
    }
  }

  #onTcpEnd(): void {
    // TCP says so only once its receive queue is empty: everything before the FIN was pushed.
    // Reading stops at EOF (libuv's does): a later reset waits for a write to be seen.
    this.#reading = false;
    // As Node's onStreamRead at EOF: push(null), then read(0) so that 'end' comes even
    // when nobody consumes the stream (nothing is buffered).
    this.push(null);
    this.read(0);
  }

  // ================================================================ writing

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: WriteCallback): void {
    this.#dispatch([chunk], chunk.length, cb);
  }

  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], cb: WriteCallback): void {
    const list = chunks.map((c) => c.chunk);
    let bytes = 0;
    for (const b of list) bytes += b.length;
    this.#dispatch(list, bytes, cb);
  }

  #dispatch(chunks: Buffer[], bytes: number, cb: WriteCallback): void {
    if (this.connecting) {
      // As Node: the write waits for 'connect'; a close before it fails the write.
      const onClose = (): void => cb(codedError('ERR_SOCKET_CLOSED_BEFORE_CONNECTION', 'Socket closed before the connection was established'));
      this.once('connect', () => {
        this.off('close', onClose);
        this.#dispatch(chunks, bytes, cb);
      });
      this.once('close', onClose);
      return;
    }
    if (this.#conn === null) {
      cb(codedError('ERR_SOCKET_CLOSED', 'Socket is closed'));
      return;
    }
    this.#idle.touch();
    if (this.#held !== null) {
      this.#bytesDispatched += bytes;
      cb(this.#takeHeld('write'));
      return;
    }
    this.#bytesDispatched += bytes;
    this.#pending = { chunks, index: 0, offset: 0, bytes, cb };
    this.#continueWrite();
  }

  /** Gives TCP what it takes of the pending write; calls back once all of it was taken. */
  #continueWrite(): void {
    const w = this.#pending;
    const conn = this.#conn;
    if (w === null || conn === null) return;
    let progress = false;
    while (w.index < w.chunks.length) {
      const chunk = w.chunks[w.index]!;
      if (w.offset === chunk.length) {
        w.index++;
        w.offset = 0;
        continue;
      }
      const n = conn.write(chunk, w.offset, chunk.length - w.offset);
      if (n > 0) {
        w.offset += n;
        progress = true;
        continue;
      }
      if (progress) this.#idle.touch();
      // 0 and no longer writable: the connection takes no more data (reset, closed).
      if (!conn.acceptsWrites) {
        this.#pending = null;
        w.cb(this.#held !== null ? this.#takeHeld('write') : errnoException('EPIPE', 'write'));
      }
      return; // full: onWritable goes on
    }
    this.#pending = null;
    this.#idle.touch();
    w.cb();
  }

  override _final(cb: WriteCallback): void {
    if (this.pending) {
      // Node: end() while connecting sends FIN once connected.
      this.once('connect', () => this._final(cb));
      return;
    }
    this.#conn?.shutdown();
    // Node calls back when libuv's shutdown request completes: libuv runs it as a pending
    // callback right after the poll phase, before setImmediate callbacks (uv_run).
    process.nextTick(cb);
  }

  /**
   * Node's writeAfterFIN: once the peer has ended a socket that may not stay half-open
   * (and our end followed), a write fails with EPIPE instead of 'write after end'.
   */
  override write(chunk: unknown, cb?: (error: Error | null | undefined) => void): boolean;
  override write(chunk: unknown, encoding: BufferEncoding, cb?: (error: Error | null | undefined) => void): boolean;
  override write(chunk: unknown, encoding?: BufferEncoding | ((error: Error | null | undefined) => void), cb?: (error: Error | null | undefined) => void): boolean {
    if (this.#endedByPeer && !this.allowHalfOpen && this.writableEnded) {
      const callback = typeof encoding === 'function' ? encoding : cb;
      const er = codedError('EPIPE', 'This socket has been ended by the other party');
      if (callback) process.nextTick(callback, er);
      this.destroy(er);
      return false;
    }
    return typeof encoding === 'function' ? super.write(chunk, encoding) : super.write(chunk, encoding as BufferEncoding, cb);
  }

  // ================================================================ errors and closing

  #onTcpClose(error?: TcpError): void {
    if (error === undefined) {
      // Closed cleanly (both FINs): nothing for the stream. Before 'connect' it is a failed connect.
      if (this.connecting) this.destroy(this.#connectError('ECONNABORTED'));
      return;
    }
    const conn = this.#conn;
    // Linux (tcp_reset): a reset after the peer's FIN is reported as EPIPE.
    const code = error.code === 'ECONNRESET' && conn !== null && conn.ended ? 'EPIPE' : error.code;
    if (this.connecting) {
      this.destroy(this.#connectError(code));
      return;
    }
    this.#held = code;
    if (this.#reading) this.#surface('read');
    else if (this.#pending !== null) {
      const w = this.#pending;
      this.#pending = null;
      w.cb(this.#takeHeld('write'));
    }
  }

  #connectError(code: string): SystemError {
    const r = this.#remote;
    return exceptionWithHostPort(code, 'connect', r?.address ?? '', r?.port ?? 0, this.#localBind);
  }

  #takeHeld(syscall: string): SystemError {
    const e = errnoException(this.#held ?? 'EPIPE', syscall);
    this.#held = null;
    return e;
  }

  #surface(syscall: string): void {
    this.destroy(this.#takeHeld(syscall));
  }

  #onIdle(): void {
    if (!this.destroyed) this.emit('timeout');
  }

  override _destroy(error: Error | null, cb: (error?: Error | null) => void): void {
    this.connecting = false;
    this.#reading = false;
    this.#idle.stop();
    const conn = this.#conn;
    const hadError = error !== null && error !== undefined;
    if (conn !== null || this.#opened) {
      if (conn !== null) {
        conn.onConnect = conn.onReadable = conn.onWritable = conn.onEnd = null;
        conn.onClose = null;
        // close(): FIN after what was written (RST when received data is left unread), as close(2).
        if (this.#resetOnDestroy) conn.abort();
        else conn.close();
      }
      this.#conn = null;
      this.#pending = null;
      cb(error);
      // Node emits 'close' when libuv has closed the handle: a later turn of the loop.
      setImmediate(() => this.emit('close', hadError));
    } else {
      // Never connected (Node: no handle was made): 'close' comes with no argument.
      cb(error);
      process.nextTick(() => this.emit('close'));
    }
    const onDestroyed = this.#onDestroyed;
    this.#onDestroyed = null;
    onDestroyed?.();
  }

  /** Ends our side, then destroys once everything was written (Node's destroySoon). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Closes with a RST (SO_LINGER 0), as Node's resetAndDestroy. */
  resetAndDestroy(): this {
    if (this.#conn === null) {
      this.destroy(codedError('ERR_SOCKET_CLOSED', 'Socket is closed'));
    } else if (this.connecting) {
      this.once('connect', () => this.resetAndDestroy());
    } else {
      this.#resetOnDestroy = true;
      this.destroy();
    }
    return this;
  }

  // ================================================================ options

  setTimeout(timeout: number, callback?: () => void): this {
    if (this.destroyed) return this;
    this.timeout = timeout;
    // Node's getTimerDuration: a number, non-negative and finite.
    if (typeof timeout !== 'number') throw codedError('ERR_INVALID_ARG_TYPE', `The "msecs" argument must be of type number. Received ${describeValue(timeout)}`, TypeError);
    if (!(timeout >= 0 && timeout < Infinity)) {
      throw codedError('ERR_OUT_OF_RANGE', `The value of "msecs" is out of range. It must be a non-negative finite number. Received ${String(timeout)}`, RangeError);
    }
    this.#idle.set(Math.min(timeout, TIMEOUT_MAX));
    if (timeout === 0) {
      if (callback !== undefined) this.removeListener('timeout', callback);
    } else if (callback !== undefined) {
      this.once('timeout', callback);
    }
    return this;
  }

  setNoDelay(noDelay?: boolean): this {
    const on = noDelay === undefined ? true : Boolean(noDelay);
    this.#noDelay = on;
    this.#conn?.setNoDelay(on);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.#keepAlive = Boolean(enable);
    this.#keepAliveDelay = ~~(initialDelay / 1000);
    const conn = this.#conn;
    if (conn !== null) this.#applyKeepAlive(conn);
    return this;
  }

  /** Nothing here holds the process open by itself (the host's loop does): kept for node:net's API. */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  // ================================================================ state

  get pending(): boolean {
    return this.#conn === null || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  /** Bytes received and handed to the stream. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes given to write(), handed to TCP or still buffered in the stream (Node's definition). */
  get bytesWritten(): number {
    const inFlight = this.#pending?.bytes ?? 0;
    return this.#bytesDispatched + this.writableLength - inFlight;
  }

  address(): AddressInfo | Record<string, never> {
    const c = this.#conn;
    return c === null ? {} : addressInfo(c.localAddress, c.localPort);
  }

  get localAddress(): string | undefined {
    const c = this.#conn;
    return c === null ? undefined : formatIpv4(c.localAddress);
  }

  get localPort(): number | undefined {
    return this.#conn?.localPort;
  }

  get localFamily(): 'IPv4' | undefined {
    return this.#conn === null ? undefined : 'IPv4';
  }

  get remoteAddress(): string | undefined {
    return this.#peer === null ? undefined : formatIpv4(this.#peer.address);
  }

  get remotePort(): number | undefined {
    return this.#peer?.port;
  }

  get remoteFamily(): 'IPv4' | undefined {
    return this.#peer === null ? undefined : 'IPv4';
  }
}
