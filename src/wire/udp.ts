/**
 * UDP headers (RFC 768): ports, length (header plus data), checksum over the
 * IPv4 pseudo-header, header and data; 0 means "no checksum" and a computed 0 is
 * sent as 0xffff.
 */
import { readU16, writeU16, type Ipv4Address } from './addr.js';
import { addSums, finish, pseudoHeaderSum, sum16 } from './checksum.js';
import { IPPROTO_UDP } from './ipv4.js';

export const UDP_HEADER_LENGTH = 8;
export const UDP_CHECKSUM_OFFSET = 6;

export interface UdpFields {
  srcPort: number;
  dstPort: number;
  /** Header plus payload, in bytes. */
  length: number;
}

export interface UdpHeader extends UdpFields {
  checksum: number;
  payloadOffset: number;
  payloadLength: number;
}

/** 'bad-length': the length field is below 8 or above the bytes there are. */
export type UdpError = 'truncated' | 'bad-length' | 'bad-checksum';

/**
 * Parses the datagram in the `len` bytes of IP payload at `off`. Bytes past the UDP
 * length are ignored. If `pseudoSum` is given, it is the pseudo-header partial sum
 * for the IP payload, `pseudoHeaderSum(src, dst, IPPROTO_UDP, len)`, and a non-zero
 * checksum is verified (RFC 768; RFC 1122 §4.1.3.4). If the UDP length is shorter
 * than `len`, the length term is corrected to the UDP length.
 */
export function parseUdp(b: Uint8Array, off: number, len: number, pseudoSum?: number): UdpHeader | UdpError {
  if (len < UDP_HEADER_LENGTH) return 'truncated';
  const length = readU16(b, off + 4);
  if (length < UDP_HEADER_LENGTH || length > len) return 'bad-length';
  const checksum = readU16(b, off + 6);
  if (pseudoSum !== undefined && checksum !== 0) {
    // One's-complement subtraction of len is addition of its complement.
    const ps = length === len ? pseudoSum : addSums(addSums(pseudoSum, ~len & 0xffff), length);
    if (finish(addSums(ps, sum16(b, off, length))) !== 0) return 'bad-checksum';
  }
  return {
    srcPort: readU16(b, off),
    dstPort: readU16(b, off + 2),
    length,
    checksum,
    payloadOffset: off + UDP_HEADER_LENGTH,
    payloadLength: length - UDP_HEADER_LENGTH,
  };
}

/** Writes the header with a zero checksum (none); returns 8. See `writeUdpChecksum`. */
export function emitUdp(h: UdpFields, b: Uint8Array, off: number): number {
  writeU16(b, off, h.srcPort);
  writeU16(b, off + 2, h.dstPort);
  writeU16(b, off + 4, h.length);
  b[off + 6] = 0;
  b[off + 7] = 0;
  return UDP_HEADER_LENGTH;
}

/**
 * The checksum field value for the `len`-byte datagram (header and payload,
 * contiguous) at `off`, whatever its checksum field holds now; never 0 (RFC 768).
 */
export function udpChecksum(src: Ipv4Address, dst: Ipv4Address, b: Uint8Array, off: number, len: number): number {
  const current = readU16(b, off + UDP_CHECKSUM_OFFSET);
  const s = addSums(addSums(pseudoHeaderSum(src, dst, IPPROTO_UDP, len), sum16(b, off, len)), ~current & 0xffff);
  return finish(s) || 0xffff;
}

/** Computes and writes the checksum of the `len`-byte datagram at `off`; returns it. */
export function writeUdpChecksum(src: Ipv4Address, dst: Ipv4Address, b: Uint8Array, off: number, len: number): number {
  const c = udpChecksum(src, dst, b, off, len);
  writeU16(b, off + UDP_CHECKSUM_OFFSET, c);
  return c;
}
