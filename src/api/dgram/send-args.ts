/**
 * send()'s arguments, sorted out exactly as node:dgram sorts them (lib/dgram.js
 * Socket.prototype.send), checks and errors in Node's order:
 *
 *   unconnected: send(msg, offset, length, port[, address][, cb]) | send(msg, port[, address][, cb])
 *   connected:   send(msg, offset, length[, cb])                   | send(msg[, cb])
 *
 * (A connected socket given a port or address throws ERR_SOCKET_DGRAM_IS_CONNECTED.)
 */

import type { Buffer } from 'node:buffer';
import { errors } from './errors.js';
import { sliceBuffer, toBufferList } from './buffers.js';
import { validatePort, validateString } from './validate.js';
import type { SendCallback } from './types.js';

export interface SendRequest {
  list: Buffer[];
  /** The peer's port; undefined on a connected socket. */
  port: number | undefined;
  /** As given (undefined: 127.0.0.1, or the peer). */
  address: string | undefined;
  callback: SendCallback | undefined;
}

export function parseSendArgs(connected: boolean, args: readonly unknown[]): SendRequest {
  let [buffer, offset, length, port, address, callback] = args;
  if (!connected) {
    if (address || (port && typeof port !== 'function')) {
      buffer = sliceBuffer(buffer, offset, length);
    } else {
      callback = port;
      port = offset;
      address = length;
    }
  } else {
    if (typeof length === 'number') {
      buffer = sliceBuffer(buffer, offset, length);
      if (typeof port === 'function') {
        callback = port;
        port = null;
      }
    } else {
      callback = offset;
    }
    if (port || address) throw errors.isConnected();
  }
  const list = toBufferList(buffer);
  if (!connected) port = validatePort(port, 'Port', false);
  if (typeof callback !== 'function') callback = undefined;
  if (typeof address === 'function') {
    callback = address;
    address = undefined;
  } else if (address !== null && address !== undefined) {
    validateString(address, 'address');
  }
  return {
    list,
    port: connected ? undefined : (port as number),
    address: (address ?? undefined) as string | undefined,
    callback: callback as SendCallback | undefined,
  };
}
