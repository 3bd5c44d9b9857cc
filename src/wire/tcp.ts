/**
 * TCP headers (RFC 9293 §3.1): ports, sequence and acknowledgment numbers
 * (unsigned 32-bit), data offset, control bits, window, checksum, urgent pointer,
 * options (tcp-options.ts).
 */
import { readU16, readU32, writeU16, writeU32, type Ipv4Address } from './addr.js';
import { addSums, finish, pseudoHeaderSum, sum16 } from './checksum.js';
import { IPPROTO_TCP } from './ipv4.js';
import { emitTcpOptions, parseTcpOptions, tcpOptionsLength, type TcpOptions } from './tcp-options.js';

export const TCP_HEADER_LENGTH = 20;
export const TCP_CHECKSUM_OFFSET = 16;

/** Control bits as one number: byte 13 of the header, plus bit 8 for AE (was NS, RFC 3540). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;
export const TCP_AE = 0x100;

export interface TcpFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** TCP_FIN | TCP_SYN | ... (9 bits). */
  flags: number;
  window: number;
  urgent: number;
  options?: TcpOptions;
}

export interface TcpHeader extends TcpFields {
  options: TcpOptions;
  /** The data offset in bytes (20..60). */
  headerLength: number;
  checksum: number;
  payloadOffset: number;
  payloadLength: number;
}

export type TcpError = 'truncated' | 'bad-data-offset' | 'bad-option' | 'bad-checksum';

/**
 * Parses the segment in the `len` bytes of IP payload at `off`. If `pseudoSum`
 * (`pseudoHeaderSum(src, dst, IPPROTO_TCP, len)`) is given, the checksum over
 * pseudo-header, header and payload is verified.
 */
export function parseTcp(b: Uint8Array, off: number, len: number, pseudoSum?: number): TcpHeader | TcpError {
  if (len < TCP_HEADER_LENGTH) return 'truncated';
  const hl = (b[off + 12]! >>> 4) << 2;
  if (hl < TCP_HEADER_LENGTH) return 'bad-data-offset';
  if (hl > len) return 'truncated';
  if (pseudoSum !== undefined && finish(addSums(pseudoSum, sum16(b, off, len))) !== 0) return 'bad-checksum';
  const options = hl > TCP_HEADER_LENGTH ? parseTcpOptions(b, off + TCP_HEADER_LENGTH, hl - TCP_HEADER_LENGTH) : {};
  if (typeof options === 'string') return options;
  return {
    srcPort: readU16(b, off),
    dstPort: readU16(b, off + 2),
    seq: readU32(b, off + 4),
    ack: readU32(b, off + 8),
    flags: ((b[off + 12]! & 1) << 8) | b[off + 13]!,
    window: readU16(b, off + 14),
    urgent: readU16(b, off + 18),
    options,
    headerLength: hl,
    checksum: readU16(b, off + 16),
    payloadOffset: off + hl,
    payloadLength: len - hl,
  };
}

export function tcpHeaderLength(h: TcpFields): number {
  return TCP_HEADER_LENGTH + tcpOptionsLength(h.options);
}

/** Writes header and options with a zero checksum; returns the header length. See `writeTcpChecksum`. */
export function emitTcp(h: TcpFields, b: Uint8Array, off: number): number {
  const hl = h.options ? TCP_HEADER_LENGTH + emitTcpOptions(h.options, b, off + TCP_HEADER_LENGTH) : TCP_HEADER_LENGTH;
  writeU16(b, off, h.srcPort);
  writeU16(b, off + 2, h.dstPort);
  writeU32(b, off + 4, h.seq);
  writeU32(b, off + 8, h.ack);
  b[off + 12] = ((hl >>> 2) << 4) | ((h.flags >>> 8) & 1);
  b[off + 13] = h.flags & 0xff;
  writeU16(b, off + 14, h.window);
  b[off + 16] = 0;
  b[off + 17] = 0;
  writeU16(b, off + 18, h.urgent);
  return hl;
}

/**
 * The checksum field value for the `len`-byte segment (header and payload,
 * contiguous) at `off`, whatever its checksum field holds now.
 */
export function tcpChecksum(src: Ipv4Address, dst: Ipv4Address, b: Uint8Array, off: number, len: number): number {
  const current = readU16(b, off + TCP_CHECKSUM_OFFSET);
  return finish(addSums(addSums(pseudoHeaderSum(src, dst, IPPROTO_TCP, len), sum16(b, off, len)), ~current & 0xffff));
}

/** Computes and writes the checksum of the `len`-byte segment at `off`; returns it. */
export function writeTcpChecksum(src: Ipv4Address, dst: Ipv4Address, b: Uint8Array, off: number, len: number): number {
  const c = tcpChecksum(src, dst, b, off, len);
  writeU16(b, off + TCP_CHECKSUM_OFFSET, c);
  return c;
}
