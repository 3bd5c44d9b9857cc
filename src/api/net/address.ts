/**
 * Addresses and ports as node:net takes and gives them: hosts are strings, ports are
 * numbers (or numeric strings), `address()` gives `{ address, family, port }`.
 * Shoal speaks IPv4 only and resolves no names (there is no DNS client yet).
 */
import { isIPv6 } from 'node:net';
import { formatIpv4, tryParseIpv4, type Ipv4Address } from '../../wire/addr.js';
import { badPort } from '../node-errors.js';

/** What `address()` returns (node:net's AddressInfo). */
export interface AddressInfo {
  address: string;
  family: 'IPv4';
  port: number;
}

/** A host string sorted: an IPv4 address we can use, an IPv6 one we cannot, or a name we cannot resolve. */
export type ParsedHost = { kind: 'ipv4'; address: Ipv4Address; text: string } | { kind: 'ipv6'; text: string } | { kind: 'name'; text: string };

export function parseHost(host: string): ParsedHost {
  const a = tryParseIpv4(host);
  if (a !== null) return { kind: 'ipv4', address: a, text: host };
  if (isIPv6(host)) return { kind: 'ipv6', text: host };
  return { kind: 'name', text: host };
}

/** Node's validatePort: a number or numeric string, integer, 0..65535 (else ERR_SOCKET_BAD_PORT, thrown). */
export function validatePort(port: unknown, name = 'Port'): number {
  if (
    (typeof port !== 'number' && typeof port !== 'string') ||
    (typeof port === 'string' && port.trim().length === 0) ||
    +port !== +port >>> 0 ||
    +port > 0xffff
  ) {
    throw badPort(port, name);
  }
  return +port | 0;
}

export function addressInfo(address: Ipv4Address, port: number): AddressInfo {
  return { address: formatIpv4(address), family: 'IPv4', port };
}
