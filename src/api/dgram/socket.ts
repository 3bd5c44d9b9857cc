/**
 * A node:dgram Socket (udp4) on a Shoal stack. Its state machine is node:dgram's
 * (lib/dgram.js): bind resolves the address and binds on process.nextTick, then
 * emits 'listening'; send and connect on an unbound socket bind it to port 0 and wait
 * in a queue until 'listening'; send and connect resolve their address the same way,
 * so callbacks, events and errors come in Node's order. What the kernel does (ports,
 * routes, broadcast permission, buffers, ICMP errors) the stack's UdpSocket does, with
 * Linux's rules; its errors come back as Node's system errors.
 *
 * https://nodejs.org/docs/latest-v20.x/api/dgram.html
 */

import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { formatIpv4 } from '../../wire/addr.js';
import { UdpError, type Udp, type UdpSocket } from '../../stack/udp.js';
import { errnoException, errors, exceptionWithHostPort, type ErrnoError } from './errors.js';
import { lookup4 } from './lookup.js';
import { ReceivePump } from './receive-pump.js';
import { parseSendArgs } from './send-args.js';
import { bufferSize, setBroadcast, setTTL } from './socket-options.js';
import { ipv4Of, syscall } from './syscall.js';
import { validatePort, validateString } from './validate.js';
import type { AddressInfo, BindOptions, MessageListener, SendCallback, SendData, SocketOptions, SocketType } from './types.js';

const enum BindState {
  Unbound,
  Binding,
  Bound,
}

const enum ConnectState {
  Disconnected,
  Connecting,
  Connected,
}

export class Socket extends EventEmitter {
  readonly type: SocketType = 'udp4';
  #handle: UdpSocket | null;
  /** The kernel socket exists (a bind was tried): before that, getsockname and setsockopt say EBADF. */
  #hasFd = false;
  #bindState = BindState.Unbound;
  #connectState = ConnectState.Disconnected;
  /** Sends, connects and a close waiting for 'listening' (Node's state.queue). */
  #queue: (() => void)[] | undefined = undefined;
  readonly #pump: ReceivePump;
  readonly #recvBufferSize: unknown;
  readonly #sendBufferSize: unknown;

  constructor(udp: Udp, type: SocketType | SocketOptions, listener?: MessageListener) {
    super();
    let options: SocketOptions | undefined;
    let kind: unknown = type;
    if (type !== null && typeof type === 'object') {
      options = type;
      kind = type.type;
    }
    if (kind !== 'udp4') throw errors.badType();
    const handle = udp.open({ reuseAddr: !!options?.reuseAddr });
    this.#handle = handle;
    this.#recvBufferSize = options?.recvBufferSize;
    this.#sendBufferSize = options?.sendBufferSize;
    this.#pump = new ReceivePump(handle, {
      message: (msg, rinfo) => this.emit('message', msg, rinfo),
      error: (code) => this.emit('error', errnoException(code, 'recvmsg')),
    });
    if (typeof listener === 'function') this.on('message', listener);
  }

  bind(port?: number, address?: string, callback?: () => void): this;
  bind(port?: number, callback?: () => void): this;
  bind(callback?: () => void): this;
  bind(options: BindOptions, callback?: () => void): this;
  bind(...args: unknown[]): this {
    let port: unknown = args[0];
    this.#healthCheck();
    if (this.#bindState !== BindState.Unbound) throw errors.alreadyBound();
    this.#bindState = BindState.Binding;
    const cb = args.length > 0 ? args[args.length - 1] : undefined;
    if (typeof cb === 'function') {
      const removeListeners = (): void => {
        this.removeListener('error', removeListeners);
        this.removeListener('listening', onListening);
      };
      const onListening = (): void => {
        removeListeners();
        cb.call(this);
      };
      this.on('error', removeListeners);
      this.on('listening', onListening);
    }
    let address: unknown;
    if (port !== null && typeof port === 'object') {
      const o = port as BindOptions;
      address = o.address || '';
      port = o.port;
    } else {
      address = typeof args[1] === 'function' ? '' : args[1];
    }
    if (!address) address = '0.0.0.0';
    lookup4(address, (err, ip) => {
      if (err) {
        this.#bindState = BindState.Unbound;
        this.emit('error', err);
        return;
      }
      const h = this.#handle;
      if (h === null) return;
      this.#hasFd = true;
      // Node hands the port to the handle as a uint32 (70000 binds 4464, 'abc' binds 0).
      const p = (Number(port || 0) >>> 0) & 0xffff;
      const code = syscall(() => h.bind(p, ipv4Of(ip)));
      if (code !== null) {
        this.#bindState = BindState.Unbound;
        // The port as the caller gave it (Node reports it unconverted).
        this.emit('error', exceptionWithHostPort(code, 'bind', ip, port as number | undefined));
        return;
      }
      this.#startListening(h);
    });
    return this;
  }

  #startListening(h: UdpSocket): void {
    this.#pump.start();
    this.#bindState = BindState.Bound;
    if (this.#recvBufferSize) bufferSize(h, true, this.#recvBufferSize, true);
    if (this.#sendBufferSize) bufferSize(h, true, this.#sendBufferSize, false);
    this.emit('listening');
  }

  /** The callback also hears a failure (connect EACCES, ENETUNREACH…), as in Node, though its typings omit it. */
  connect(port: number, address?: string, callback?: (error?: Error) => void): void;
  connect(port: number, callback: (error?: Error) => void): void;
  connect(portArg: unknown, addressArg?: unknown, callbackArg?: unknown): void {
    const port = validatePort(portArg, 'Port', false);
    let address = addressArg;
    let callback = callbackArg;
    if (typeof address === 'function') {
      callback = address;
      address = '';
    } else if (address === undefined) {
      address = '';
    }
    validateString(address, 'address');
    // Node would fail later, with a TypeError, on a closed socket.
    this.#healthCheck();
    if (this.#connectState !== ConnectState.Disconnected) throw errors.isConnected();
    this.#connectState = ConnectState.Connecting;
    if (this.#bindState === BindState.Unbound) this.bind({ port: 0, exclusive: true });
    const cb = typeof callback === 'function' ? (callback as (error?: Error) => void) : undefined;
    const host = address;
    if (this.#bindState !== BindState.Bound) {
      this.#enqueue(() => this.#connect(port, host, cb));
      return;
    }
    this.#connect(port, host, cb);
  }

  #connect(port: number, address: string, callback: ((error?: Error) => void) | undefined): void {
    if (callback) this.once('connect', callback);
    lookup4(address, (error, ip) => {
      const h = this.#handle;
      if (h === null) return;
      let ex: ErrnoError | null = error;
      if (ex === null) {
        const code = syscall(() => h.connect(ipv4Of(ip), port));
        if (code !== null) ex = exceptionWithHostPort(code, 'connect', address, port);
      }
      if (ex !== null) {
        const failure = ex;
        this.#connectState = ConnectState.Disconnected;
        process.nextTick(() => {
          if (callback) {
            this.removeListener('connect', callback);
            callback(failure);
          } else {
            this.emit('error', failure);
          }
        });
        return;
      }
      this.#connectState = ConnectState.Connected;
      process.nextTick(() => this.emit('connect'));
    });
  }

  disconnect(): void {
    if (this.#connectState !== ConnectState.Connected) throw errors.notConnected();
    this.#open().disconnect();
    this.#connectState = ConnectState.Disconnected;
  }

  send(msg: SendData, offset: number, length: number, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: SendData, offset: number, length: number, port?: number, callback?: SendCallback): void;
  send(msg: SendData, offset: number, length: number, callback?: SendCallback): void;
  send(msg: SendData, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: SendData, port?: number, callback?: SendCallback): void;
  send(msg: SendData, callback?: SendCallback): void;
  send(...args: unknown[]): void {
    const connected = this.#connectState === ConnectState.Connected;
    const { list, port, address, callback } = parseSendArgs(connected, args);
    this.#healthCheck();
    if (this.#bindState === BindState.Unbound) this.bind({ port: 0, exclusive: true });
    if (list.length === 0) list.push(Buffer.alloc(0));
    if (this.#bindState !== BindState.Bound) {
      this.#enqueue(() => this.send(list, port, address, callback));
      return;
    }
    if (connected) {
      this.#doSend(null, '', list, address, port, callback);
      return;
    }
    lookup4(address, (error, ip) => this.#doSend(error, ip, list, address, port, callback));
  }

  #doSend(error: ErrnoError | null, ip: string, list: Buffer[], address: string | undefined, port: number | undefined, callback: SendCallback | undefined): void {
    if (error !== null) {
      if (callback) process.nextTick(callback, error);
      else process.nextTick(() => this.emit('error', error));
      return;
    }
    const h = this.#handle;
    if (h === null) return;
    let bytes = 0;
    for (const b of list) bytes += b.length;
    const code = syscall(() => {
      const queued = port !== undefined ? h.send(list, port, ipv4Of(ip)) : h.send(list);
      // The send buffer or the stack's queue is full. (libuv would queue the datagram without a bound.)
      if (!queued) throw new UdpError('ENOBUFS', 'no buffer space');
    });
    // As Node: success or failure comes on the next tick, and a failure without a callback is dropped.
    if (code === null) {
      if (callback) process.nextTick(callback, null, bytes);
    } else if (callback) {
      process.nextTick(callback, exceptionWithHostPort(code, 'send', address, port));
    }
  }

  close(callback?: () => void): this {
    if (typeof callback === 'function') this.on('close', callback);
    if (this.#queue !== undefined) {
      this.#queue.push(() => this.close());
      return this;
    }
    this.#healthCheck();
    this.#pump.stop();
    this.#handle!.close();
    this.#handle = null;
    process.nextTick(() => this.emit('close'));
    return this;
  }

  address(): AddressInfo {
    const h = this.#open();
    if (!this.#hasFd) throw errnoException('EBADF', 'getsockname');
    return { address: formatIpv4(h.localAddress), family: 'IPv4', port: h.localPort };
  }

  remoteAddress(): AddressInfo {
    const h = this.#open();
    if (this.#connectState !== ConnectState.Connected) throw errors.notConnected();
    return { address: formatIpv4(h.remoteAddress), family: 'IPv4', port: h.remotePort };
  }

  setBroadcast(flag: boolean): void {
    setBroadcast(this.#open(), this.#hasFd, flag);
  }

  setTTL(ttl: number): number {
    return setTTL(this.#open(), this.#hasFd, ttl);
  }

  setRecvBufferSize(size: number): void {
    bufferSize(this.#open(), this.#hasFd, size, true);
  }

  setSendBufferSize(size: number): void {
    bufferSize(this.#open(), this.#hasFd, size, false);
  }

  getRecvBufferSize(): number {
    return bufferSize(this.#open(), this.#hasFd, 0, true)!;
  }

  getSendBufferSize(): number {
    return bufferSize(this.#open(), this.#hasFd, 0, false)!;
  }

  /** Bytes queued to send and not yet handed to IP (Node: what libuv has queued). */
  getSendQueueSize(): number {
    return this.#handle?.sendQueuedBytes ?? 0;
  }

  getSendQueueCount(): number {
    return this.#handle?.sendQueuedCount ?? 0;
  }

  /** No-ops: a Shoal socket holds no handle of Node's event loop (the Host's loop keeps the process alive). */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  #healthCheck(): void {
    if (this.#handle === null) throw errors.notRunning();
  }

  /** The handle; ERR_SOCKET_DGRAM_NOT_RUNNING once closed (where Node fails with a TypeError). */
  #open(): UdpSocket {
    if (this.#handle === null) throw errors.notRunning();
    return this.#handle;
  }

  #enqueue(entry: () => void): void {
    if (this.#queue === undefined) {
      this.#queue = [];
      this.once(EventEmitter.errorMonitor, this.#onListenError);
      this.once('listening', this.#onListenSuccess);
    }
    this.#queue.push(entry);
  }

  readonly #onListenSuccess = (): void => {
    this.removeListener(EventEmitter.errorMonitor, this.#onListenError);
    const queue = this.#queue ?? [];
    this.#queue = undefined;
    for (const entry of queue) entry();
  };

  readonly #onListenError = (): void => {
    this.removeListener('listening', this.#onListenSuccess);
    this.#queue = undefined;
  };
}
