/**
 * ARP for IPv4 over Ethernet (RFC 826): hardware type 1, protocol type 0x0800,
 * address lengths 6 and 4; the only layout we parse or emit (28 bytes).
 */
import { readMac, readU16, readU32, writeMac, writeU16, writeU32, type Ipv4Address, type MacAddress } from './addr.js';

export const ARP_LENGTH = 28;
export const ARP_HTYPE_ETHERNET = 1;
export const ARP_PTYPE_IPV4 = 0x0800;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

export interface ArpPacket {
  op: number; // ARP_OP_REQUEST or ARP_OP_REPLY
  /** Sender hardware and protocol address. */
  sha: MacAddress;
  spa: Ipv4Address;
  /** Target hardware (zero in a request) and protocol address. */
  tha: MacAddress;
  tpa: Ipv4Address;
}

export type ArpError = 'truncated' | 'bad-htype' | 'bad-ptype' | 'bad-hlen' | 'bad-plen' | 'bad-op';

/** Parses an ARP packet; bytes after the 28 (Ethernet padding) are ignored. */
export function parseArp(b: Uint8Array, off: number, len: number): ArpPacket | ArpError {
  if (len < ARP_LENGTH) return 'truncated';
  if (readU16(b, off) !== ARP_HTYPE_ETHERNET) return 'bad-htype';
  if (readU16(b, off + 2) !== ARP_PTYPE_IPV4) return 'bad-ptype';
  if (b[off + 4] !== 6) return 'bad-hlen';
  if (b[off + 5] !== 4) return 'bad-plen';
  const op = readU16(b, off + 6);
  if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY) return 'bad-op';
  return {
    op,
    sha: readMac(b, off + 8),
    spa: readU32(b, off + 14),
    tha: readMac(b, off + 18),
    tpa: readU32(b, off + 24),
  };
}

/** Writes the 28-byte packet; returns 28. */
export function emitArp(p: ArpPacket, b: Uint8Array, off: number): number {
  writeU16(b, off, ARP_HTYPE_ETHERNET);
  writeU16(b, off + 2, ARP_PTYPE_IPV4);
  b[off + 4] = 6;
  b[off + 5] = 4;
  writeU16(b, off + 6, p.op);
  writeMac(b, off + 8, p.sha);
  writeU32(b, off + 14, p.spa);
  writeMac(b, off + 18, p.tha);
  writeU32(b, off + 24, p.tpa);
  return ARP_LENGTH;
}
