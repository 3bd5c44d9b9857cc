/**
 * node:dgram's own errors (lib/internal/errors.js): the ERR_SOCKET_* errors of a
 * datagram socket and the SystemError of ERR_SOCKET_BUFFER_SIZE. System errors and
 * the helpers come from ../node-errors.ts, shared with the net API.
 */

import { codedError, errnoOf, type CodedError, type SystemError } from '../node-errors.js';

export { errnoException, exceptionWithHostPort, notFound } from '../node-errors.js';
export type NodeError = CodedError;
export type ErrnoError = SystemError;

/** ERR_SOCKET_BUFFER_SIZE: a SystemError carrying what the libuv call returned. */
export class BufferSizeError extends Error {
  override readonly name = 'SystemError';
  readonly code = 'ERR_SOCKET_BUFFER_SIZE';
  readonly info: { errno: number; code: string; message: string; syscall: string };
  readonly errno: number;
  readonly syscall: string;

  constructor(syscall: string, code: string, description: string) {
    super(`Could not get or set buffer size: ${syscall} returned ${code} (${description})`);
    this.errno = errnoOf(code);
    this.syscall = syscall;
    this.info = { errno: this.errno, code, message: description, syscall };
  }
}

export const errors = {
  alreadyBound: () => codedError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound'),
  notRunning: () => codedError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running'),
  isConnected: () => codedError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected'),
  notConnected: () => codedError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected'),
  badBufferSize: () => codedError('ERR_SOCKET_BAD_BUFFER_SIZE', 'Buffer size must be a positive integer', TypeError),
  // Node also accepts 'udp6'; Shoal has no IPv6 yet.
  badType: () => codedError('ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4', TypeError),
  outOfBounds: (name: string) => codedError('ERR_BUFFER_OUT_OF_BOUNDS', `"${name}" is outside of buffer bounds`, RangeError),
};
