/**
 * Name resolution for bind, send and connect, as node:dgram's lookup4 does it with
 * dns.lookup: no name means 127.0.0.1, and the answer comes asynchronously (for an
 * address literal dns.lookup answers on process.nextTick, which orders 'listening',
 * send callbacks and errors as Node orders them). Shoal has no resolver: 'localhost'
 * is 127.0.0.1 and any other name is ENOTFOUND, as getaddrinfo says it.
 */

import { isIP } from 'node:net';
import { notFound, type ErrnoError } from './errors.js';
import { invalidArgType } from './validate.js';

export type LookupCallback = (error: ErrnoError | null, address: string) => void;

export function lookup4(address: unknown, callback: LookupCallback): void {
  const host: unknown = address || '127.0.0.1';
  if (typeof host !== 'string') throw invalidArgType('hostname', 'of type string', host);
  // An IPv6 literal is handed on, as dns.lookup does; the system call then refuses it (EINVAL).
  if (isIP(host) !== 0) process.nextTick(callback, null, host);
  else if (host.toLowerCase() === 'localhost') process.nextTick(callback, null, '127.0.0.1');
  else process.nextTick(callback, notFound(host), '');
}
