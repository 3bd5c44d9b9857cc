/**
 * ICMPv4 (RFC 792): an 8-byte header (type, code, checksum, one "rest of header"
 * word) and a body. For echo the rest is identifier and sequence number; for
 * destination unreachable code 4 its low half is the next-hop MTU (RFC 1191 §4);
 * error messages carry the original IP header and at least 8 bytes of its data
 * (RFC 792, more is allowed by RFC 1812 §4.3.2.3) as their body.
 */
import { readU16, readU32, writeU16, writeU32 } from './addr.js';
import { finish, sum16 } from './checksum.js';

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;

/** Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1). */
export const ICMP_NET_UNREACHABLE = 0;
export const ICMP_HOST_UNREACHABLE = 1;
export const ICMP_PROTOCOL_UNREACHABLE = 2;
export const ICMP_PORT_UNREACHABLE = 3;
export const ICMP_FRAGMENTATION_NEEDED = 4;
/** Time exceeded codes. */
export const ICMP_TTL_EXCEEDED = 0;
export const ICMP_REASSEMBLY_TIME_EXCEEDED = 1;

export const ICMP_HEADER_LENGTH = 8;

export interface IcmpFields {
  type: number;
  code: number;
  /** The 32-bit word after the checksum, unsigned: see `echoRest` / `mtuRest`. */
  rest: number;
}

export interface IcmpHeader extends IcmpFields {
  checksum: number;
  /** Views of `rest`: identifier and sequence number (echo), next-hop MTU (type 3 code 4). */
  id: number;
  seq: number;
  mtu: number;
  /** The body: echo data, or for errors the original IP header and data. */
  payloadOffset: number;
  payloadLength: number;
}

export type IcmpError = 'truncated' | 'bad-checksum';

/** The rest-of-header word of an echo request or reply. */
export function echoRest(id: number, seq: number): number {
  return (((id & 0xffff) << 16) | (seq & 0xffff)) >>> 0;
}

/** The rest-of-header word of a fragmentation-needed message (RFC 1191 §4). */
export function mtuRest(mtu: number): number {
  return mtu & 0xffff;
}

/** True for the types whose body is the offending datagram's header (RFC 1122 §3.2.2). */
export function isIcmpError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACHABLE ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETER_PROBLEM ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_REDIRECT
  );
}

/**
 * Parses the ICMP message of `len` bytes (the whole IP payload) and verifies its
 * checksum over all of them (RFC 792), unless `skipChecksum`.
 */
export function parseIcmp(b: Uint8Array, off: number, len: number, skipChecksum = false): IcmpHeader | IcmpError {
  if (len < ICMP_HEADER_LENGTH) return 'truncated';
  if (!skipChecksum && finish(sum16(b, off, len)) !== 0) return 'bad-checksum';
  const rest = readU32(b, off + 4);
  return {
    type: b[off]!,
    code: b[off + 1]!,
    rest,
    checksum: readU16(b, off + 2),
    id: rest >>> 16,
    seq: rest & 0xffff,
    mtu: rest & 0xffff,
    payloadOffset: off + ICMP_HEADER_LENGTH,
    payloadLength: len - ICMP_HEADER_LENGTH,
  };
}

/**
 * Writes the 8-byte header at `off` in front of a body of `payloadLength` bytes that is
 * already in place at off+8, and the checksum over both; returns 8. An echo reply is
 * made in place from a request by emitting `{ type: 0, code: 0, rest: req.rest }`.
 */
export function emitIcmp(h: IcmpFields, b: Uint8Array, off: number, payloadLength: number): number {
  b[off] = h.type;
  b[off + 1] = h.code;
  b[off + 2] = 0;
  b[off + 3] = 0;
  writeU32(b, off + 4, h.rest);
  writeU16(b, off + 2, finish(sum16(b, off, ICMP_HEADER_LENGTH + payloadLength)));
  return ICMP_HEADER_LENGTH;
}
