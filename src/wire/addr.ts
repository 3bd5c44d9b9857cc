/**
 * Addresses as numbers, so that the hot path compares and hashes them without
 * allocating: an IPv4 address is an unsigned 32-bit integer, a MAC address an
 * integer below 2^48 (exact in a double).
 */

export type Ipv4Address = number;
export type MacAddress = number;

export const MAC_BROADCAST: MacAddress = 0xffff_ffff_ffff;
export const IPV4_ANY: Ipv4Address = 0;
export const IPV4_BROADCAST: Ipv4Address = 0xffff_ffff;

export function readMac(b: Uint8Array, off: number): MacAddress {
  return ((b[off]! << 8) | b[off + 1]!) * 0x1_0000_0000 + readU32(b, off + 2);
}

export function writeMac(b: Uint8Array, off: number, mac: MacAddress): void {
  const hi = Math.floor(mac / 0x1_0000_0000);
  b[off] = hi >>> 8;
  b[off + 1] = hi & 0xff;
  // A subtraction, not `%`: a floating-point remainder is a runtime call.
  writeU32(b, off + 2, mac - hi * 0x1_0000_0000);
}

export function readU16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

export function writeU16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v & 0xff;
}

export function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

export function isMulticastMac(mac: MacAddress): boolean {
  return (Math.floor(mac / 0x100_0000_0000) & 1) === 1;
}

export function formatMac(mac: MacAddress): string {
  const parts: string[] = [];
  for (let i = 5; i >= 0; i--) parts.push((Math.floor(mac / 2 ** (8 * i)) & 0xff).toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Parses `aa:bb:cc:dd:ee:ff` (or with `-`); throws a clear error on anything else. */
export function parseMac(text: string): MacAddress {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text);
  if (!m) throw new TypeError(`not a MAC address: ${JSON.stringify(text)} (expected aa:bb:cc:dd:ee:ff)`);
  let mac = 0;
  for (let i = 1; i <= 6; i++) mac = mac * 256 + parseInt(m[i]!, 16);
  return mac;
}

export function formatIpv4(a: Ipv4Address): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** Parses dotted-quad IPv4 (four decimal parts 0-255, no leading zeros); null if not one. */
export function tryParseIpv4(text: string): Ipv4Address | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let a = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    a = a * 256 + n;
  }
  return a;
}

export function parseIpv4(text: string): Ipv4Address {
  const a = tryParseIpv4(text);
  if (a === null) throw new TypeError(`not an IPv4 address: ${JSON.stringify(text)} (expected e.g. 10.0.0.1)`);
  return a;
}

/** The network mask of a prefix length 0..32. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffff_ffff << (32 - prefix)) >>> 0;
}
