/**
 * What a DHCPACK grants (RFC 2131 §4.4.1, §4.4.5): the address, its prefix, the
 * router, and the lease's times, all counted from when the REQUEST was sent.
 */
import type { Ipv4Address } from '../wire/addr.js';
import type { DhcpMessage } from '../wire/dhcp.js';

/** RFC 2132 §9.2: 0xffffffff seconds is an infinite lease. */
export const DHCP_INFINITE = 0xffff_ffff;

export interface DhcpLease {
  address: Ipv4Address;
  prefix: number;
  /** The first router of option 3, or 0. */
  gateway: Ipv4Address;
  server: Ipv4Address;
  dnsServers: Ipv4Address[];
  /** Seconds (DHCP_INFINITE: never ends). */
  leaseTime: number;
  /** Absolute times (ms on the stack's clock) of T1, T2 and the end; Infinity for an infinite lease. */
  renewAt: number;
  rebindAt: number;
  expiresAt: number;
}

/** The prefix length of a contiguous mask, or -1. */
export function maskPrefix(mask: Ipv4Address): number {
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  return Math.clz32(inv);
}

/** Without option 1: the address's class (RFC 1122 §3.3.1.1 leaves the default to the host; classful is what BOOTP clients use). */
function classfulPrefix(a: Ipv4Address): number {
  const top = a >>> 24;
  return top < 128 ? 8 : top < 192 ? 16 : 24;
}

/**
 * The lease an ACK grants, timed from `sentAt` (when our REQUEST left, RFC 2131
 * §4.4.1), or null when the ACK is unusable (no address, no lease time, a
 * non-contiguous mask). T1 and T2 default to 0.5 and 0.875 of the lease (§4.4.5);
 * server-given ones out of order are replaced by the defaults.
 */
export function leaseFrom(m: DhcpMessage, server: Ipv4Address, sentAt: number): DhcpLease | null {
  if (m.yiaddr === 0 || m.leaseTime === undefined || m.leaseTime === 0) return null;
  const prefix = m.subnetMask !== undefined ? maskPrefix(m.subnetMask) : classfulPrefix(m.yiaddr);
  if (prefix < 0) return null;
  const lease = m.leaseTime;
  let renewAt = Infinity;
  let rebindAt = Infinity;
  let expiresAt = Infinity;
  if (lease !== DHCP_INFINITE) {
    let t1 = m.renewalTime ?? lease * 0.5;
    let t2 = m.rebindingTime ?? lease * 0.875;
    if (!(t1 < t2 && t2 < lease)) {
      t1 = lease * 0.5;
      t2 = lease * 0.875;
    }
    renewAt = sentAt + t1 * 1000;
    rebindAt = sentAt + t2 * 1000;
    expiresAt = sentAt + lease * 1000;
  }
  return {
    address: m.yiaddr,
    prefix,
    gateway: m.routers?.[0] ?? 0,
    server: m.serverId ?? server,
    dnsServers: m.dnsServers ?? [],
    leaseTime: lease,
    renewAt,
    rebindAt,
    expiresAt,
  };
}
