/**
 * The stack's socket calls seen as system calls: a UdpError's code (EADDRINUSE,
 * EACCES, EMSGSIZE…) is what the kernel would have returned, for Node's error shapes.
 */

import { tryParseIpv4, type Ipv4Address } from '../../wire/addr.js';
import { UdpError } from '../../stack/udp.js';

/** Runs `call`; the errno code it failed with, or null. */
export function syscall(call: () => void): string | null {
  try {
    call();
    return null;
  } catch (e) {
    if (e instanceof UdpError) return e.code;
    throw e;
  }
}

/** A resolved address as a udp4 sockaddr takes it: EINVAL when it is not IPv4 (libuv's uv_ip4_addr). */
export function ipv4Of(ip: string): Ipv4Address {
  const a = tryParseIpv4(ip);
  if (a === null) throw new UdpError('EINVAL', `not an IPv4 address: ${ip}`);
  return a;
}
