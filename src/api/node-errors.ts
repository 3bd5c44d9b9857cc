/**
 * Errors shaped as Node's own (lib/internal/errors.js), shared by the net and dgram
 * APIs, so code that inspects `err.code`, `err.errno`, `err.syscall` or matches
 * messages works on Shoal unchanged:
 * - system errors as errnoException, exceptionWithHostPort, uvExceptionWithHostPort
 *   and dnsException make them ("connect ECONNREFUSED 10.0.0.2:81", negative errno);
 * - Node's internal ERR_* errors with their class, code and message, their stack
 *   starting "TypeError [ERR_X]: …" as Node's do;
 * - determineSpecificType's wording for a value received.
 */
import { getSystemErrorMap, inspect } from 'node:util';

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

/** errno as Node reports it: negative (libuv's convention); 0 for a code libuv does not know. */
export function errnoOf(code: string): number {
  return lookup(code).errno;
}

function systemError(message: string, code: string, syscall: string): SystemError {
  return Object.assign(new Error(message), { errno: errnoOf(code), code, syscall });
}

/** `read ECONNRESET`: an error of a call that has no address (Node's errnoException). */
export function errnoException(code: string, syscall: string): SystemError {
  return systemError(`${syscall} ${code}`, code, syscall);
}

function hostPortDetails(address: string | undefined, port: number | undefined): string {
  if (port !== undefined && port > 0) return ` ${address}:${port}`;
  return address ? ` ${address}` : '';
}

/** `connect ECONNREFUSED 10.0.0.2:81` (Node's exceptionWithHostPort; `local` adds ` - Local (a:p)`). */
export function exceptionWithHostPort(code: string, syscall: string, address: string | undefined, port: number | undefined, local?: { address: string; port: number }): SystemError {
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
  e.errno = errnoOf('EAI_NONAME');
  e.hostname = hostname;
  e.cause = new Error('Shoal resolves no names (no DNS, no hosts file, no loopback): give an IPv4 address');
  return e;
}

/** One of Node's ERR_* errors (`cls`: Error, RangeError or TypeError, as Node uses for that code). */
export function codedError(code: string, message: string, cls: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor = Error): CodedError {
  const e = new cls(message) as CodedError;
  e.name = `${cls.name} [${code}]`;
  void e.stack; // the stack's first line is written now, with the code in the name
  delete (e as { name?: string }).name;
  e.code = code;
  return e;
}

/** Node's determineSpecificType: "type number (42)", "an instance of Array", "undefined". */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function' && value.name) return `function ${value.name}`;
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: string } }).constructor;
    if (ctor?.name) return `an instance of ${ctor.name}`;
    return inspect(value, { depth: -1 });
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

/** ERR_SOCKET_BAD_PORT with Node's wording (`allowZero`: ">= 0", else "> 0"). */
export function badPort(port: unknown, name = 'Port', allowZero = true): CodedError {
  return codedError('ERR_SOCKET_BAD_PORT', `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeValue(port)}.`, RangeError);
}
