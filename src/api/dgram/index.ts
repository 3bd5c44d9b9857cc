/**
 * A node:dgram-compatible UDP API on a Shoal stack: `new Dgram(stack).createSocket('udp4')`
 * returns a Socket that behaves as node:dgram's does (udp4 only; no multicast yet).
 */

import type { Stack } from '../../stack/stack.js';
import { Socket } from './socket.js';
import type { MessageListener, SocketOptions, SocketType } from './types.js';

export class Dgram {
  constructor(readonly stack: Stack) {}

  /** As dgram.createSocket: a type ('udp4') or options, and an optional 'message' listener. */
  createSocket(type: SocketType | SocketOptions, listener?: MessageListener): Socket {
    return new Socket(this.stack.udp, type, listener);
  }
}

export { Socket } from './socket.js';
export type { AddressInfo, BindOptions, MessageListener, RemoteInfo, SendCallback, SendData, SocketOptions, SocketType } from './types.js';
