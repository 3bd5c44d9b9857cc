/**
 * `Server`: node:net's Server on a Shoal TCP listener. Each accepted connection
 * becomes a `Socket` handed out with 'connection'; errors ('listen EADDRINUSE: address
 * already in use 10.0.0.2:80') and 'listening' come on a later tick, as Node's do;
 * close() stops accepting and emits 'close' once the last connection is gone.
 */
import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import type { Stack } from '../../stack/stack.js';
import type { TcpConnection } from '../../stack/tcp/connection.js';
import type { TcpListener } from '../../stack/tcp/listener.js';
import { formatIpv4, type Ipv4Address } from '../../wire/addr.js';
import { addressInfo, parseHost, validatePort, type AddressInfo } from './address.js';
import { normalizeArgs, toNumber } from './args.js';
import { codedError, describeValue, notFound, uvExceptionWithHostPort } from '../node-errors.js';
import { Socket, type SocketOptions } from './socket.js';

/** Node's default listen backlog. */
const DEFAULT_BACKLOG = 511;

export interface ServerOptions {
  /** Keep accepted sockets open after the peer's FIN (default false). */
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused (nothing is read until resume()). */
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  highWaterMark?: number;
}

export interface ListenOptions {
  port?: number | string | null;
  /** An IPv4 address of this stack, or '0.0.0.0' (also '::'): any. Default: any. */
  host?: string;
  backlog?: number;
  signal?: AbortSignal;
}

export type ConnectionListener = (socket: Socket) => void;

export class Server extends EventEmitter {
  /** Connections beyond this are closed as they come ('drop'); undefined: no limit. */
  maxConnections: number | undefined = undefined;
  readonly #stack: Stack;
  readonly #options: ServerOptions;
  #listener: TcpListener | null = null;
  #connections = 0;

  constructor(stack: Stack, options?: ServerOptions | ConnectionListener, connectionListener?: ConnectionListener) {
    super();
    this.#stack = stack;
    if (typeof options === 'function') {
      this.#options = {};
      this.on('connection', options);
    } else if (options === undefined || options === null || typeof options === 'object') {
      this.#options = { ...options };
      if (typeof connectionListener === 'function') this.on('connection', connectionListener);
    } else {
      throw codedError('ERR_INVALID_ARG_TYPE', `The "options" argument must be of type object. Received ${describeValue(options)}`, TypeError);
    }
  }

  get allowHalfOpen(): boolean {
    return Boolean(this.#options.allowHalfOpen);
  }

  get pauseOnConnect(): boolean {
    return Boolean(this.#options.pauseOnConnect);
  }

  /** True while bound and accepting. */
  get listening(): boolean {
    return this.#listener !== null;
  }

  listen(port?: number | string | null, host?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number | string | null, host?: string, listeningListener?: () => void): this;
  listen(port?: number | string | null, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number | string | null, listeningListener?: () => void): this;
  listen(options: ListenOptions, listeningListener?: () => void): this;
  listen(listeningListener?: () => void): this;
  listen(...args: unknown[]): this {
    const { options, cb } = normalizeArgs(args);
    if (this.#listener !== null) throw codedError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    if (cb !== null) this.once('listening', cb as () => void);
    // listen(port, backlog) or listen(port, host, backlog), as Node reads them.
    const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]);
    if (args.length === 0 || typeof args[0] === 'function' || (options['port'] === undefined && 'port' in options) || options['port'] === null) options['port'] = 0;
    const p = options['port'];
    if (typeof p === 'number' || typeof p === 'string') {
      const port = validatePort(p, 'options.port');
      const backlog = Number(options['backlog']) || backlogFromArgs || DEFAULT_BACKLOG;
      this.#watchSignal(options['signal']);
      const host = options['host'];
      if (typeof host === 'string' && host !== '') {
        // Node looks the host up first (dns.lookup, asynchronous even for addresses).
        process.nextTick(() => this.#listenOn(host, port, backlog));
      } else {
        this.#bind('0.0.0.0', 0, port, backlog);
      }
      return this;
    }
    if ('path' in options) throw codedError('ERR_INVALID_ARG_VALUE', 'Shoal servers are TCP only: IPC paths are not supported', TypeError);
    throw codedError('ERR_INVALID_ARG_VALUE', `The argument 'options' must have the property "port" or "path". Received ${inspect(options)}`, TypeError);
  }

  #watchSignal(signal: unknown): void {
    if (signal === undefined) return;
    if (!(signal instanceof AbortSignal)) throw codedError('ERR_INVALID_ARG_TYPE', `The "options.signal" property must be an instance of AbortSignal. Received ${describeValue(signal)}`, TypeError);
    const onAborted = (): void => {
      this.close();
    };
    if (signal.aborted) {
      process.nextTick(onAborted);
    } else {
      signal.addEventListener('abort', onAborted, { once: true });
      this.once('close', () => signal.removeEventListener('abort', onAborted));
    }
  }

  #listenOn(host: string, port: number, backlog: number): void {
    const parsed = parseHost(host);
    if (parsed.kind === 'name') {
      this.emit('error', notFound(host));
      return;
    }
    // '::' means every address; this stack has only IPv4 ones.
    if (parsed.kind === 'ipv6' && parsed.text !== '::') {
      process.nextTick(() => this.emit('error', uvExceptionWithHostPort('EADDRNOTAVAIL', 'listen', host, port)));
      return;
    }
    this.#bind(host, parsed.kind === 'ipv4' ? parsed.address : 0, port, backlog);
  }

  /** Binds and listens now; 'listening' or the error follows on the next tick (Node's setupListenHandle). */
  #bind(hostText: string, address: Ipv4Address, port: number, backlog: number): void {
    if (address !== 0 && address !== this.#stack.address) {
      process.nextTick(() => this.emit('error', uvExceptionWithHostPort('EADDRNOTAVAIL', 'listen', hostText, port)));
      return;
    }
    let listener: TcpListener;
    try {
      listener = this.#stack.tcp.listen(port, { address, backlog });
    } catch (e) {
      const code = (e as { code?: unknown }).code === 'EADDRINUSE' ? 'EADDRINUSE' : 'EINVAL';
      process.nextTick(() => this.emit('error', uvExceptionWithHostPort(code, 'listen', hostText, port)));
      return;
    }
    this.#listener = listener;
    listener.onConnection((conn) => this.#accept(conn));
    process.nextTick(() => this.emit('listening'));
  }

  #accept(conn: TcpConnection): void {
    const max = this.maxConnections;
    if (max !== undefined && max !== null && this.#connections >= max) {
      this.emit('drop', {
        localAddress: formatIpv4(conn.localAddress),
        localPort: conn.localPort,
        localFamily: 'IPv4',
        remoteAddress: formatIpv4(conn.remoteAddress),
        remotePort: conn.remotePort,
        remoteFamily: 'IPv4',
      });
      conn.close();
      return;
    }
    const o = this.#options;
    const socketOptions: SocketOptions = { allowHalfOpen: Boolean(o.allowHalfOpen), noDelay: Boolean(o.noDelay), keepAlive: Boolean(o.keepAlive) };
    if (o.keepAliveInitialDelay !== undefined) socketOptions.keepAliveInitialDelay = o.keepAliveInitialDelay;
    if (o.highWaterMark !== undefined) socketOptions.highWaterMark = o.highWaterMark;
    const socket = new Socket(this.#stack, socketOptions, {
      conn,
      pauseOnCreate: Boolean(o.pauseOnConnect),
      onDestroyed: () => {
        this.#connections--;
        this.#emitCloseIfDrained();
      },
    });
    this.#connections++;
    socket.server = this;
    this.emit('connection', socket);
  }

  /** Stops accepting; 'close' (and `cb`) once every connection is gone. */
  close(cb?: (err?: Error) => void): this {
    if (typeof cb === 'function') {
      if (this.#listener === null) this.once('close', () => cb(codedError('ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
      else this.once('close', cb);
    }
    if (this.#listener !== null) {
      this.#listener.close();
      this.#listener = null;
    }
    this.#emitCloseIfDrained();
    return this;
  }

  #emitCloseIfDrained(): void {
    if (this.#listener !== null || this.#connections > 0) return;
    process.nextTick(() => this.emit('close'));
  }

  address(): AddressInfo | null {
    const l = this.#listener;
    return l === null ? null : addressInfo(l.address, l.port);
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    process.nextTick(cb, null, this.#connections);
    return this;
  }

  /** Nothing here holds the process open by itself (the host's loop does): kept for node:net's API. */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}
