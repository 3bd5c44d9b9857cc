/**
 * Errors shaped as node:dgram's (lib/internal/errors.js): the internal ERR_* errors
 * with their class, code and message; system errors as "syscall CODE address:port"
 * with a negative `errno`, `code`, `syscall` (and `address`, `port`), as
 * `errnoException` and `exceptionWithHostPort` make them; and the SystemError of
 * ERR_SOCKET_BUFFER_SIZE.
 */

import { constants } from 'node:os';

export type NodeError = Error & { code: string };

export interface SystemErrorFields {
  errno: number;
  code: string;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
}

export type ErrnoError = Error & SystemErrorFields;

/** An internal error: its stack starts "TypeError [ERR_X]: …" as Node's do. */
export function nodeError(Base: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor, code: string, message: string): NodeError {
  const e = new Base(message) as NodeError;
  e.name = `${Base.name} [${code}]`;
  void e.stack; // the stack's first line is written now, with the code in the name
  delete (e as { name?: string }).name;
  e.code = code;
  return e;
}

/** errno as Node reports it: negative (libuv's convention). */
export function errnoOf(code: string): number {
  const n = (constants.errno as Record<string, number | undefined>)[code];
  if (n === undefined) throw new Error(`no errno for ${code}`);
  return -n;
}

/** "syscall CODE" (Node's errnoException). */
export function errnoException(code: string, syscall: string): ErrnoError {
  const e = new Error(`${syscall} ${code}`) as ErrnoError;
  e.errno = errnoOf(code);
  e.code = code;
  e.syscall = syscall;
  return e;
}

/** "syscall CODE address:port" (Node's exceptionWithHostPort): the address and port as the caller gave them. */
export function exceptionWithHostPort(code: string, syscall: string, address: unknown, port: unknown): ErrnoError {
  let details = '';
  if (port && (port as number) > 0) details = ` ${String(address)}:${String(port)}`;
  else if (address) details = ` ${String(address)}`;
  const e = new Error(`${syscall} ${code}${details}`) as ErrnoError;
  e.errno = errnoOf(code);
  e.code = code;
  e.syscall = syscall;
  e.address = address as string;
  if (port) e.port = port as number;
  return e;
}

/** What getaddrinfo says about a name it cannot resolve (Node's dnsException; EAI_NONAME is -3008 in libuv). */
export function notFound(hostname: string): ErrnoError {
  const e = new Error(`getaddrinfo ENOTFOUND ${hostname}`) as ErrnoError;
  e.errno = -3008;
  e.code = 'ENOTFOUND';
  e.syscall = 'getaddrinfo';
  e.hostname = hostname;
  return e;
}

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
  alreadyBound: () => nodeError(Error, 'ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound'),
  notRunning: () => nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running'),
  isConnected: () => nodeError(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected'),
  notConnected: () => nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected'),
  badBufferSize: () => nodeError(TypeError, 'ERR_SOCKET_BAD_BUFFER_SIZE', 'Buffer size must be a positive integer'),
  // Node also accepts 'udp6'; Shoal has no IPv6 yet.
  badType: () => nodeError(TypeError, 'ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4'),
  outOfBounds: (name: string) => nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', `"${name}" is outside of buffer bounds`),
};
