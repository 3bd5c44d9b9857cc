/**
 * Errors shaped as node:net's: the same codes, errno numbers, syscalls and messages
 * (lib/internal/errors.js: errnoException, exceptionWithHostPort,
 * uvExceptionWithHostPort, dnsException), so code that inspects `err.code`,
 * `err.syscall` or matches messages works on Shoal unchanged.
 */
import { getSystemErrorMap } from 'node:util';

/** A system error as Node makes them: an Error with errno, code and syscall (and the address when there is one). */
export interface SystemError extends Error {
  errno: number;
  code: string;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
  localAddress?: string;
  localPort?: number;
}

/** An error of Node's own (ERR_*), with its code. */
export interface CodedError extends Error {
  code: string;
}

const byName = new Map<string, { errno: number; message: string }>();
for (const [errno, [name, message]] of getSystemErrorMap()) byName.set(name, { errno, message });

function lookup(code: string): { errno: number; message: string } {
  return byName.get(code) ?? { errno: 0, message: 'unknown error' };
}

function systemError(message: string, code: string, syscall: string): SystemError {
  return Object.assign(new Error(message), { errno: lookup(code).errno, code, syscall });
}

/** `read ECONNRESET`: an error of a call that has no address (Node's errnoException). */
export function errnoException(code: string, syscall: string): SystemError {
  return systemError(`${syscall} ${code}`, code, syscall);
}

function hostPortDetails(address: string, port: number | undefined): string {
  if (port !== undefined && port > 0) return ` ${address}:${port}`;
  return address ? ` ${address}` : '';
}

/** `connect ECONNREFUSED 10.0.0.2:81` (Node's exceptionWithHostPort; `local` adds ` - Local (a:p)`). */
export function exceptionWithHostPort(code: string, syscall: string, address: string, port: number, local?: { address: string; port: number }): SystemError {
  let details = hostPortDetails(address, port);
  if (local) details += ` - Local (${local.address}:${local.port})`;
  const e = systemError(`${syscall} ${code}${details}`, code, syscall);
  e.address = address;
  if (port) e.port = port;
  if (local) {
    e.localAddress = local.address;
    e.localPort = local.port;
  }
  return e;
}

/** `listen EADDRINUSE: address already in use 10.0.0.2:80` (Node's uvExceptionWithHostPort: libuv's text included). */
export function uvExceptionWithHostPort(code: string, syscall: string, address: string, port: number): SystemError {
  const e = systemError(`${syscall} ${code}: ${lookup(code).message}${hostPortDetails(address, port)}`, code, syscall);
  e.address = address;
  if (port) e.port = port;
  return e;
}

/**
 * `getaddrinfo ENOTFOUND name` (Node's dnsException for EAI_NONAME). Shoal has no
 * resolver, so every name is unresolvable; `cause` says why, the message stays Node's.
 */
export function notFound(hostname: string): SystemError {
  const e = systemError(`getaddrinfo ENOTFOUND ${hostname}`, 'ENOTFOUND', 'getaddrinfo');
  e.errno = lookup('EAI_NONAME').errno;
  e.hostname = hostname;
  e.cause = new Error('Shoal resolves no names (no DNS, no hosts file, no loopback): give an IPv4 address');
  return e;
}

/** One of Node's ERR_* errors (`cls`: Error, RangeError or TypeError, as Node uses for that code). */
export function codedError(code: string, message: string, cls: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor = Error): CodedError {
  return Object.assign(new cls(message), { code });
}

/** Node's wording for a value in ERR_SOCKET_BAD_PORT and friends (determineSpecificType). */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name}`;
  if (typeof value === 'object') return value.constructor?.name ? `an instance of ${value.constructor.name}` : 'an object';
  let shown = typeof value === 'string' ? `'${value.length > 28 ? `${value.slice(0, 25)}...` : value}'` : String(value);
  if (typeof value === 'bigint') shown += 'n';
  return `type ${typeof value} (${shown})`;
}

export function badPort(port: unknown, name = 'Port'): CodedError {
  return codedError('ERR_SOCKET_BAD_PORT', `${name} should be >= 0 and < 65536. Received ${describeValue(port)}.`, RangeError);
}
