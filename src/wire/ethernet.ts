/**
 * Ethernet II frames (IEEE 802.3 with EtherType), with one 802.1Q VLAN tag
 * recognised (TPID 0x8100: PCP, DEI, VLAN id, then the real EtherType).
 * The frame check sequence is not part of what we see or emit (NICs and TAP strip it).
 */
import { readMac, readU16, writeMac, writeU16, type MacAddress } from './addr.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;

export const ETHERNET_HEADER_LENGTH = 14;
export const ETHERNET_VLAN_HEADER_LENGTH = 18;

/** An 802.1Q tag control information: priority code point, drop eligible, VLAN id. */
export interface VlanTag {
  pcp: number; // 0..7
  dei: boolean;
  id: number; // 0..4095
}

export interface EthernetFields {
  dst: MacAddress;
  src: MacAddress;
  /** The EtherType of the payload (after the VLAN tag if there is one). */
  ethertype: number;
  vlan?: VlanTag | null;
}

export interface EthernetHeader extends EthernetFields {
  vlan: VlanTag | null;
  headerLength: number; // 14 or 18
  payloadOffset: number;
  payloadLength: number;
}

export type EthernetError = 'truncated';

/**
 * Parses the header at `off`. EtherType values below 0x0600 are 802.3 lengths
 * (LLC frames); they are returned as they are, for the caller to drop as unknown.
 * A second tag (QinQ) is not unwrapped: its TPID is the returned EtherType.
 */
export function parseEthernet(b: Uint8Array, off: number, len: number): EthernetHeader | EthernetError {
  if (len < ETHERNET_HEADER_LENGTH) return 'truncated';
  let ethertype = readU16(b, off + 12);
  let vlan: VlanTag | null = null;
  let hl = ETHERNET_HEADER_LENGTH;
  if (ethertype === ETHERTYPE_VLAN) {
    if (len < ETHERNET_VLAN_HEADER_LENGTH) return 'truncated';
    const tci = readU16(b, off + 14);
    vlan = { pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, id: tci & 0x0fff };
    ethertype = readU16(b, off + 16);
    hl = ETHERNET_VLAN_HEADER_LENGTH;
  }
  return {
    dst: readMac(b, off),
    src: readMac(b, off + 6),
    ethertype,
    vlan,
    headerLength: hl,
    payloadOffset: off + hl,
    payloadLength: len - hl,
  };
}

export function ethernetHeaderLength(h: EthernetFields): number {
  return h.vlan ? ETHERNET_VLAN_HEADER_LENGTH : ETHERNET_HEADER_LENGTH;
}

/** Writes the header (tagged if `h.vlan` is set); returns its length, 14 or 18. */
export function emitEthernet(h: EthernetFields, b: Uint8Array, off: number): number {
  writeMac(b, off, h.dst);
  writeMac(b, off + 6, h.src);
  const v = h.vlan;
  if (v) {
    writeU16(b, off + 12, ETHERTYPE_VLAN);
    writeU16(b, off + 14, ((v.pcp & 7) << 13) | (v.dei ? 0x1000 : 0) | (v.id & 0x0fff));
    writeU16(b, off + 16, h.ethertype);
    return ETHERNET_VLAN_HEADER_LENGTH;
  }
  writeU16(b, off + 12, h.ethertype);
  return ETHERNET_HEADER_LENGTH;
}
