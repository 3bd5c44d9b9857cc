/**
 * IPv4 headers (RFC 791 §3.1). Options are carried as raw bytes, not interpreted.
 * Named `parseIpv4Header`/`emitIpv4Header` because `parseIpv4` in addr.ts parses text.
 */
import { readU16, readU32, writeU16, writeU32, type Ipv4Address } from './addr.js';
import { finish, sum16 } from './checksum.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export const IPV4_HEADER_LENGTH = 20;
export const IPV4_MAX_HEADER_LENGTH = 60;

export interface Ipv4Fields {
  /** Differentiated services code point (6 bits, RFC 2474) and ECN (2 bits, RFC 3168). */
  dscp: number;
  ecn: number;
  /** Header plus payload, in bytes. */
  totalLength: number;
  id: number;
  /** Don't fragment, more fragments. The reserved flag bit is sent as 0 and ignored. */
  df: boolean;
  mf: boolean;
  /** In bytes (the field times 8); a multiple of 8 when emitting. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  src: Ipv4Address;
  dst: Ipv4Address;
  /** Raw option bytes, padded with zeros (End of Option List) to a multiple of 4; at most 40. */
  options?: Uint8Array | null;
}

export interface Ipv4Header extends Omit<Ipv4Fields, 'options'> {
  headerLength: number;
  checksum: number;
  /** Raw options, as a position in the parsed buffer (length 0 when none). */
  optionsOffset: number;
  optionsLength: number;
  /** The payload is totalLength - headerLength bytes; bytes past totalLength (Ethernet padding) are not part of it. */
  payloadOffset: number;
  payloadLength: number;
}

/**
 * 'truncated': fewer bytes than the header or than the total length says (Linux counts
 * these as InTruncatedPkts); 'bad-total-length': total length below the header length.
 */
export type Ipv4Error = 'truncated' | 'bad-version' | 'bad-header-length' | 'bad-total-length' | 'bad-checksum';

/**
 * Parses an IPv4 header and checks it as RFC 1122 §3.2.1.1-2 asks: version 4, header
 * checksum. `skipChecksum` is for frames whose checksum a NIC has already verified.
 */
export function parseIpv4Header(b: Uint8Array, off: number, len: number, skipChecksum = false): Ipv4Header | Ipv4Error {
  const h = newIpv4Header();
  const err = parseIpv4HeaderInto(b, off, len, h, skipChecksum);
  return err ?? h;
}

/** An Ipv4Header to parse into again and again (the receive path allocates nothing). */
export function newIpv4Header(): Ipv4Header {
  return {
    dscp: 0, ecn: 0, totalLength: 0, id: 0, df: false, mf: false, fragmentOffset: 0, ttl: 0, protocol: 0, src: 0, dst: 0,
    headerLength: 0, checksum: 0, optionsOffset: 0, optionsLength: 0, payloadOffset: 0, payloadLength: 0,
  };
}

/** As parseIpv4Header, into `h`; returns null when the header is good (then `h` holds it), else the error. */
export function parseIpv4HeaderInto(b: Uint8Array, off: number, len: number, h: Ipv4Header, skipChecksum = false): Ipv4Error | null {
  if (len < IPV4_HEADER_LENGTH) return 'truncated';
  const vihl = b[off]!;
  if (vihl >>> 4 !== 4) return 'bad-version';
  const hl = (vihl & 0x0f) << 2;
  if (hl < IPV4_HEADER_LENGTH) return 'bad-header-length';
  if (hl > len) return 'truncated';
  if (!skipChecksum && finish(sum16(b, off, hl)) !== 0) return 'bad-checksum';
  const totalLength = readU16(b, off + 2);
  if (totalLength < hl) return 'bad-total-length';
  if (totalLength > len) return 'truncated';
  const tos = b[off + 1]!;
  const frag = readU16(b, off + 6);
  h.dscp = tos >>> 2;
  h.ecn = tos & 3;
  h.totalLength = totalLength;
  h.id = readU16(b, off + 4);
  h.df = (frag & 0x4000) !== 0;
  h.mf = (frag & 0x2000) !== 0;
  h.fragmentOffset = (frag & 0x1fff) << 3;
  h.ttl = b[off + 8]!;
  h.protocol = b[off + 9]!;
  h.src = readU32(b, off + 12);
  h.dst = readU32(b, off + 16);
  h.headerLength = hl;
  h.checksum = readU16(b, off + 10);
  h.optionsOffset = off + IPV4_HEADER_LENGTH;
  h.optionsLength = hl - IPV4_HEADER_LENGTH;
  h.payloadOffset = off + hl;
  h.payloadLength = totalLength - hl;
  return null;
}

export function ipv4HeaderLength(h: Ipv4Fields): number {
  const o = h.options;
  return o ? IPV4_HEADER_LENGTH + ((o.length + 3) & ~3) : IPV4_HEADER_LENGTH;
}

/** True for any fragment but a whole datagram (MF set or a non-zero offset). */
export function isFragment(h: Ipv4Header): boolean {
  return h.mf || h.fragmentOffset !== 0;
}

/**
 * Writes the header with its checksum (left 0 with `checksum` false: a device with IPv4
 * checksum offload fills it in); returns the header length. Throws on options over 40 bytes.
 */
export function emitIpv4Header(h: Ipv4Fields, b: Uint8Array, off: number, checksum = true): number {
  const hl = ipv4HeaderLength(h);
  if (hl > IPV4_MAX_HEADER_LENGTH) throw new RangeError(`IPv4 options too long: ${hl - IPV4_HEADER_LENGTH} bytes (at most 40)`);
  b[off] = 0x40 | (hl >>> 2);
  b[off + 1] = ((h.dscp & 0x3f) << 2) | (h.ecn & 3);
  writeU16(b, off + 2, h.totalLength);
  writeU16(b, off + 4, h.id);
  writeU16(b, off + 6, (h.df ? 0x4000 : 0) | (h.mf ? 0x2000 : 0) | ((h.fragmentOffset >>> 3) & 0x1fff));
  b[off + 8] = h.ttl;
  b[off + 9] = h.protocol;
  b[off + 10] = 0;
  b[off + 11] = 0;
  writeU32(b, off + 12, h.src);
  writeU32(b, off + 16, h.dst);
  const o = h.options;
  if (o) {
    b.set(o, off + IPV4_HEADER_LENGTH);
    b.fill(0, off + IPV4_HEADER_LENGTH + o.length, off + hl);
  }
  if (checksum) writeU16(b, off + 10, finish(sum16(b, off, hl)));
  return hl;
}
