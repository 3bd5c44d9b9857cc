/**
 * Checksum work a NIC does on a frame in its own memory (here: the receiver's copy,
 * never the sender's buffer): finishing a partial L4 checksum (virtio-net
 * NEEDS_CSUM / Linux CHECKSUM_PARTIAL), filling the IPv4 header checksum, and
 * verifying TCP/UDP checksums on receive (virtio DATA_VALID / CHECKSUM_UNNECESSARY).
 */

import { readU16, readU32, writeU16 } from '../../wire/addr.js';
import { addSums, finish, pseudoHeaderSum, sum16 } from '../../wire/checksum.js';
import { ETHERNET_HEADER_LENGTH as ETH_HLEN, ETHERNET_VLAN_HEADER_LENGTH as ETH_VLAN_HLEN, ETHERTYPE_IPV4, ETHERTYPE_VLAN } from '../../wire/ethernet.js';
import { IPPROTO_TCP as PROTO_TCP, IPPROTO_UDP as PROTO_UDP } from '../../wire/ipv4.js';

/** Computes and stores the IPv4 header checksum of the header at `ip`. */
export function writeIpv4Checksum(b: Uint8Array, ip: number, ihl: number): void {
  b[ip + 10] = 0;
  b[ip + 11] = 0;
  writeU16(b, ip + 10, finish(sum16(b, ip, ihl)));
}

/**
 * Finishes a partial checksum as a NIC does: the field at `start + offset` holds the
 * pseudo-header sum; the sum from `start` to the end of the frame is complemented and
 * stored there. UDP sends a computed 0 as 0xffff (RFC 768).
 */
export function finishPartial(b: Uint8Array, base: number, len: number, start: number, offset: number, udp: boolean): void {
  const c = finish(sum16(b, base + start, len - start));
  writeU16(b, base + start + offset, c === 0 && udp ? 0xffff : c);
}

export const CSUM_NONE = 0;
export const CSUM_GOOD = 1;
export const CSUM_BAD = -1;

/**
 * Verifies a received frame in `b[base, base + len)` from its own bytes (they may be
 * corrupted): CSUM_GOOD for a whole IPv4 TCP or UDP datagram whose L4 checksum is
 * right (and whose IPv4 header checksum is right, when `checkIp`), CSUM_BAD when one
 * of them is wrong, CSUM_NONE when there is nothing the device checks (not IPv4,
 * not TCP/UDP, a fragment, a UDP datagram without checksum, a malformed header).
 */
export function verifyL4(b: Uint8Array, base: number, len: number, checkIp: boolean): number {
  let e = ETH_HLEN;
  if (len < e + 20) return CSUM_NONE;
  let type = readU16(b, base + 12);
  if (type === ETHERTYPE_VLAN) {
    e = ETH_VLAN_HLEN;
    if (len < e + 20) return CSUM_NONE;
    type = readU16(b, base + 16);
  }
  if (type !== ETHERTYPE_IPV4) return CSUM_NONE;
  const ip = base + e;
  const vihl = b[ip]!;
  const ihl = (vihl & 15) << 2;
  if (vihl >>> 4 !== 4 || ihl < 20) return CSUM_NONE;
  const total = readU16(b, ip + 2);
  if (total < ihl || e + total > len) return CSUM_NONE;
  if ((readU16(b, ip + 6) & 0x3fff) !== 0) return CSUM_NONE;
  if (checkIp && finish(sum16(b, ip, ihl)) !== 0) return CSUM_BAD;
  const proto = b[ip + 9]!;
  const l4 = ip + ihl;
  let l4len = total - ihl;
  if (proto === PROTO_TCP) {
    if (l4len < 20) return CSUM_NONE;
  } else if (proto === PROTO_UDP) {
    if (l4len < 8) return CSUM_NONE;
    const ulen = readU16(b, l4 + 4);
    if (ulen < 8 || ulen > l4len || readU16(b, l4 + 6) === 0) return CSUM_NONE;
    l4len = ulen;
  } else {
    return CSUM_NONE;
  }
  const ps = pseudoHeaderSum(readU32(b, ip + 12), readU32(b, ip + 16), proto, l4len);
  return finish(addSums(ps, sum16(b, l4, l4len))) === 0 ? CSUM_GOOD : CSUM_BAD;
}

/** True when the IPv4 header at `ip` has a correct checksum. */
export function ipv4HeaderOk(b: Uint8Array, ip: number, ihl: number): boolean {
  return finish(sum16(b, ip, ihl)) === 0;
}
