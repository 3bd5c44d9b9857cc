/**
 * A `node:net`-compatible API on one Shoal stack:
 *
 *   const net = new Net(host.stack);
 *   net.createServer((s) => s.pipe(s)).listen(7, () => {});
 *   const c = net.connect(7, '10.0.0.2', () => c.end('hello'));
 *
 * Servers, sockets (real `stream.Duplex`es), errors and events behave as node:net's
 * (test/api/net-compat.test.ts runs the same scenarios on both). Everything runs on
 * the host's event loop; nothing here blocks. Where it differs from node:net:
 * - IPv4 only, and no resolver: a name (`localhost` and the default host included)
 *   fails as an unknown name does in Node (`getaddrinfo ENOTFOUND`); an IPv6 address
 *   with ENETUNREACH. No loopback: connecting to our own address or 127/8 fails with
 *   ENETUNREACH at once. `listen()` without a host binds every address and reports
 *   `0.0.0.0` (Node: `::`); `::` is taken to mean the same.
 * - TCP only (no IPC paths, no `fd`/`handle`); a closed socket cannot connect again.
 * - `ref()`/`unref()` do nothing: the host's loop decides when the process may exit.
 * - `remoteAddress`/`remotePort` stay readable after close (Node keeps them only if
 *   read before).
 * - A host going down (`Host.close()`) ends its open sockets with ECONNABORTED.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { Stack } from '../../stack/stack.js';
import { normalizeArgs } from './args.js';
import { Server, type ConnectionListener, type ServerOptions } from './server.js';
import { Socket, type SocketConnectOptions, type SocketOptions } from './socket.js';

export { Server, Socket };
// ListenOptions is also TCP's in the package index: NetListenOptions names this one there.
export type { ConnectionListener, ListenOptions, ListenOptions as NetListenOptions, ServerOptions } from './server.js';
export type { SocketConnectOptions, SocketOptions } from './socket.js';
export type { AddressInfo } from './address.js';
export type { SystemError } from '../node-errors.js';

/** `new net.Socket(options)` bound to this stack. */
export type SocketConstructor = new (options?: SocketOptions) => Socket;
/** `new net.Server(options, listener)` bound to this stack. */
export type ServerConstructor = new (options?: ServerOptions | ConnectionListener, connectionListener?: ConnectionListener) => Server;

export class Net {
  readonly Socket: SocketConstructor;
  readonly Server: ServerConstructor;
  readonly isIP = isIP;
  readonly isIPv4 = isIPv4;
  readonly isIPv6 = isIPv6;

  constructor(readonly stack: Stack) {
    this.Socket = class extends Socket {
      constructor(options?: SocketOptions) {
        super(stack, options);
      }
    };
    this.Server = class extends Server {
      constructor(options?: ServerOptions | ConnectionListener, connectionListener?: ConnectionListener) {
        super(stack, options, connectionListener);
      }
    };
  }

  createServer(connectionListener?: ConnectionListener): Server;
  createServer(options?: ServerOptions, connectionListener?: ConnectionListener): Server;
  createServer(options?: ServerOptions | ConnectionListener, connectionListener?: ConnectionListener): Server {
    return new this.Server(options, connectionListener);
  }

  connect(options: SocketConnectOptions & SocketOptions, connectListener?: () => void): Socket;
  connect(port: number | string, host?: string, connectListener?: () => void): Socket;
  connect(port: number | string, connectListener?: () => void): Socket;
  connect(...args: unknown[]): Socket {
    // Node: the options go to both the Socket and its connect().
    const { options, cb } = normalizeArgs(args);
    const socket = new this.Socket(options as SocketOptions);
    const connectOptions = options as unknown as SocketConnectOptions;
    return cb === null ? socket.connect(connectOptions) : socket.connect(connectOptions, cb as () => void);
  }

  createConnection(options: SocketConnectOptions & SocketOptions, connectListener?: () => void): Socket;
  createConnection(port: number | string, host?: string, connectListener?: () => void): Socket;
  createConnection(port: number | string, connectListener?: () => void): Socket;
  createConnection(...args: unknown[]): Socket {
    return (this.connect as (...a: unknown[]) => Socket)(...args);
  }
}
