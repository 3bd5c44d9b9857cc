/**
 * Socket options as node:dgram sets them through libuv: before the socket exists
 * (bind not yet tried) the system calls fail with EBADF; setTTL takes 1..255 (libuv
 * checks that first: EINVAL); buffer sizes follow Linux (the stack doubles what is
 * asked, caps and floors it) and fail as a SystemError ERR_SOCKET_BUFFER_SIZE.
 */

import type { UdpSocket } from '../../stack/udp.js';
import { BufferSizeError, errnoException, errors } from './errors.js';
import { validateNumber } from './validate.js';

export function setBroadcast(h: UdpSocket, hasFd: boolean, flag: unknown): void {
  if (!hasFd) throw errnoException('EBADF', 'setBroadcast');
  h.broadcast = !!flag;
}

export function setTTL(h: UdpSocket, hasFd: boolean, ttl: unknown): number {
  validateNumber(ttl, 'ttl');
  const value = ttl | 0;
  if (value < 1 || value > 255) throw errnoException('EINVAL', 'setTTL');
  if (!hasFd) throw errnoException('EBADF', 'setTTL');
  h.ttl = value;
  return ttl;
}

/** Node's bufferSize(): 0 reads the size, anything else sets it. */
export function bufferSize(h: UdpSocket, hasFd: boolean, size: unknown, receive: boolean): number | undefined {
  if (typeof size !== 'number' || size >>> 0 !== size) throw errors.badBufferSize();
  if (!hasFd) throw new BufferSizeError(receive ? 'uv_recv_buffer_size' : 'uv_send_buffer_size', 'EBADF', 'bad file descriptor');
  if (size === 0) return receive ? h.receiveBufferSize : h.sendBufferSize;
  if (receive) h.setReceiveBufferSize(size);
  else h.setSendBufferSize(size);
  return size;
}
