/**
 * A frame a memory device put on the medium: the sender's packet (not copied: like a
 * NIC's TX descriptor, it points at the sender's memory until it has been "DMAed" into
 * each receiver), the header positions parsed once at transmit, and a reference count
 * (a frame flooded by a switch, duplicated or segmented by a fault is in several
 * places in flight). The last reference releases the packet: TX completion.
 *
 * `parse` also checks the frame against the sender's features, as a driver's
 * `ndo_start_xmit` / `ndo_features_check` would: too long without GSO, or an offload
 * request the device did not advertise or that does not fit the frame, is an error
 * code (the device counts and drops it), never an exception.
 */

import { readMac, readU16, readU32 } from '../../wire/addr.js';
import { GSO_TCPV4, Packet } from '../../packet/packet.js';
import type { DeviceFeatures } from '../device.js';
import { ETHERNET_HEADER_LENGTH as ETH_HLEN, ETHERNET_VLAN_HEADER_LENGTH as ETH_VLAN_HLEN, ETHERTYPE_IPV4, ETHERTYPE_VLAN } from '../../wire/ethernet.js';
import { IPPROTO_TCP as PROTO_TCP, IPPROTO_UDP as PROTO_UDP } from '../../wire/ipv4.js';


/** What `Frame.parse` found wrong. */
export const FRAME_OK = 0;
/** Longer than MTU + Ethernet header and not a GSO frame. */
export const FRAME_OVERSIZE = 1;
/** An offload request the frame cannot carry (GSO on non-TCP, csumStart outside the frame, a runt). */
export const FRAME_MALFORMED = 2;
/** An offload the device did not advertise (tx checksum, TSO). */
export const FRAME_UNSUPPORTED = 3;

/** Counters a sender keeps for what its frames met on the medium. */
export interface TxSegmentCounters {
  /** Super-frames cut into wire-sized frames (TSO). */
  tsoFrames: number;
  tsoSegments: number;
}

/** Spare frames a device keeps (more in flight at once are simply collected). */
const MAX_SPARES = 1024;

export class Frame {
  refs = 1;
  /** Where the headers are contiguous: `hdr[h + x]` is frame byte `x` (x below the header end). */
  hdr: Uint8Array;
  h = 0;
  length: number;
  dstMac = 0;
  srcMac = 0;
  /** 14, or 18 with an 802.1Q tag. */
  ethLen = ETH_HLEN;
  /** Offset of the IPv4 header in the frame, or -1 (not IPv4, or not a valid header). */
  ipOff = -1;
  ipHl = 0;
  ipId = 0;
  proto = 0;
  fragment = false;
  src = 0;
  dst = 0;
  /** Offset of the TCP/UDP header (-1 for other protocols and for fragments). */
  l4Off = -1;
  sport = 0;
  dport = 0;
  /** TCP only: header length, sequence number and flags byte. */
  tcpHl = 0;
  seq = 0;
  tcpFlags = 0;
  /** A GSO frame longer than one wire frame: `segments` segments of `mss` payload bytes. */
  superFrame = false;
  mss = 0;
  segments = 1;
  csumStart = -1;
  csumOffset = 0;
  /** The sender fills in the IPv4 header checksum (txCsumIp). */
  finishIp = false;

  pkt: Packet;
  tx: TxSegmentCounters;
  /** Where this frame goes when its last reference is dropped: its device's spares. */
  private spares: Frame[] | null = null;

  constructor(pkt: Packet, tx: TxSegmentCounters) {
    this.pkt = pkt;
    this.tx = tx;
    this.length = pkt.length;
    this.hdr = pkt.bufs[0] ?? EMPTY;
  }

  /**
   * A frame for `pkt`: a spare one made like new, or a new one that will return to
   * `spares` (a device sends a frame per packet: recycling them spares the GC).
   */
  static take(spares: Frame[], pkt: Packet, tx: TxSegmentCounters): Frame {
    const f = spares.pop();
    if (f === undefined) {
      const fresh = new Frame(pkt, tx);
      fresh.spares = spares;
      return fresh;
    }
    f.pkt = pkt;
    f.tx = tx;
    f.refs = 1;
    f.hdr = pkt.bufs[0] ?? EMPTY;
    f.h = 0;
    f.length = pkt.length;
    f.dstMac = f.srcMac = 0;
    f.ethLen = ETH_HLEN;
    f.ipOff = -1;
    f.ipHl = f.ipId = f.proto = 0;
    f.fragment = false;
    f.src = f.dst = 0;
    f.l4Off = -1;
    f.sport = f.dport = f.tcpHl = f.seq = f.tcpFlags = 0;
    f.superFrame = false;
    f.mss = 0;
    f.segments = 1;
    f.csumStart = -1;
    f.csumOffset = 0;
    f.finishIp = false;
    return f;
  }

  /** The receiver took the packet itself (handoff): the last release leaves it alone. */
  handOff(): void {
    this.pkt = HANDED_OFF;
  }

  /** Drops one reference; the last one releases the sender's packet (TX completion) and recycles the frame. */
  release(): void {
    if (--this.refs !== 0) return;
    const p = this.pkt;
    if (p !== HANDED_OFF) p.release();
    this.hdr = EMPTY;
    if (this.spares !== null && this.spares.length < MAX_SPARES) this.spares.push(this);
  }

  /** Bytes of segment `i` on the wire (the whole frame for a frame that is not a super-frame). */
  segmentLength(i: number): number {
    if (!this.superFrame) return this.length;
    const hdrLen = this.l4Off + this.tcpHl;
    return hdrLen + Math.min(this.mss, this.length - hdrLen - i * this.mss);
  }

  /** Parses the headers and checks the offload request against the sender's features. */
  parse(features: DeviceFeatures, finishIp: boolean): number {
    const pkt = this.pkt;
    const len = this.length;
    if (len < ETH_HLEN) return FRAME_MALFORMED;
    // Headers must be contiguous; front() copies only when they cross a fragment.
    let b = this.need(ETH_HLEN);
    let h = this.h;
    this.dstMac = readMac(b, h);
    this.srcMac = readMac(b, h + 6);
    let ethertype = readU16(b, h + 12);
    if (ethertype === ETHERTYPE_VLAN && len >= ETH_VLAN_HLEN) {
      b = this.need(ETH_VLAN_HLEN);
      h = this.h;
      ethertype = readU16(b, h + 16);
      this.ethLen = ETH_VLAN_HLEN;
    }
    const e = this.ethLen;
    if (ethertype === ETHERTYPE_IPV4 && len >= e + 20) {
      b = this.need(e + 20);
      h = this.h;
      const vihl = b[h + e]!;
      const ihl = (vihl & 15) << 2;
      if (vihl >>> 4 === 4 && ihl >= 20 && e + ihl <= len) {
        b = this.need(e + ihl);
        h = this.h;
        const ip = h + e;
        this.ipOff = e;
        this.ipHl = ihl;
        this.ipId = readU16(b, ip + 4);
        this.fragment = (readU16(b, ip + 6) & 0x3fff) !== 0;
        this.proto = b[ip + 9]!;
        this.src = readU32(b, ip + 12);
        this.dst = readU32(b, ip + 16);
        const l4 = e + ihl;
        if (!this.fragment && this.proto === PROTO_TCP && l4 + 20 <= len) {
          b = this.need(l4 + 20);
          const thl = (b[this.h + l4 + 12]! >>> 4) << 2;
          if (thl >= 20 && l4 + thl <= len) {
            b = this.need(l4 + thl);
            h = this.h;
            this.l4Off = l4;
            this.tcpHl = thl;
            this.sport = readU16(b, h + l4);
            this.dport = readU16(b, h + l4 + 2);
            this.seq = readU32(b, h + l4 + 4);
            this.tcpFlags = b[h + l4 + 13]!;
          }
        } else if (!this.fragment && this.proto === PROTO_UDP && l4 + 8 <= len) {
          b = this.need(l4 + 8);
          h = this.h;
          this.l4Off = l4;
          this.sport = readU16(b, h + l4);
          this.dport = readU16(b, h + l4 + 2);
        }
      }
    }
    this.finishIp = finishIp && this.ipOff >= 0;

    // Segmentation offload: only TCPv4 (as the features say), only where advertised.
    if (pkt.gsoSize > 0) {
      if (pkt.gsoType !== GSO_TCPV4 || this.tcpHl === 0) return FRAME_MALFORMED;
      if (!features.tso) return FRAME_UNSUPPORTED;
      if (len > e + features.mtu) {
        const hdrLen = this.l4Off + this.tcpHl;
        if (len - e > features.maxTsoSize || this.ipHl + this.tcpHl + pkt.gsoSize > features.mtu || len <= hdrLen) return FRAME_MALFORMED;
        this.superFrame = true;
        this.mss = pkt.gsoSize;
        this.segments = Math.ceil((len - hdrLen) / pkt.gsoSize);
      }
    } else if (len > e + features.mtu) {
      return FRAME_OVERSIZE;
    }

    // Checksum offload: the field at csumStart + csumOffset must lie inside the frame.
    if (pkt.csumStart >= 0) {
      if (!features.txCsumL4) return FRAME_UNSUPPORTED;
      if (pkt.csumOffset < 0 || pkt.csumStart + pkt.csumOffset + 2 > len) return FRAME_MALFORMED;
      this.csumStart = pkt.csumStart;
      this.csumOffset = pkt.csumOffset;
    }
    return FRAME_OK;
  }

  /** Makes the first `n` bytes contiguous; returns the buffer (and sets `h`). */
  private need(n: number): Uint8Array {
    this.h = this.pkt.front(n);
    this.hdr = this.pkt.bufs[0]!;
    return this.hdr;
  }
}

const EMPTY = new Uint8Array(0);
/** What a frame holds once its packet went to the receiver whole. */
const HANDED_OFF = new Packet();
