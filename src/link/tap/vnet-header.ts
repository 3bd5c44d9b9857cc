/**
 * The virtio_net_hdr in front of every frame on a TAP fd with IFF_VNET_HDR, mapped to
 * and from a Packet's offload fields, which follow the same semantics on purpose
 * (include/uapi/linux/virtio_net.h):
 *
 * - NEEDS_CSUM: the L4 checksum is partial; the sum starts at `csum_start` (from the
 *   Ethernet header) and goes to `csum_start + csum_offset`; the field holds the
 *   pseudo-header sum. Received, it is data the kernel vouches for (Linux treats
 *   CHECKSUM_PARTIAL as verified); sent, the kernel finishes it (or never needs to:
 *   a local receiver takes a partial checksum as good).
 * - DATA_VALID: received only; the kernel checked the checksum (CHECKSUM_UNNECESSARY).
 * - gso_type / gso_size / hdr_len: a frame of up to 64 KB that stands for segments of
 *   `gso_size` payload bytes each; `hdr_len` is the length of its headers.
 */

import { GSO_NONE, type Packet } from '../../packet/packet.js';

export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
/** Set on top of the type when the TCP segments carry ECN's CWR (not a type of its own). */
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

/** The header of a frame the kernel handed over, applied to the packet that holds it. */
export function applyRxHeader(p: Packet, flags: number, gsoType: number, gsoSize: number, csumStart: number, csumOffset: number): void {
  if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0 && csumStart + csumOffset + 2 <= p.length) {
    p.csumStart = csumStart;
    p.csumOffset = csumOffset;
    p.csumVerified = true;
  } else if ((flags & VIRTIO_NET_HDR_F_DATA_VALID) !== 0) {
    p.csumVerified = true;
  }
  const type = gsoType & ~VIRTIO_NET_HDR_GSO_ECN;
  if (type !== GSO_NONE && gsoSize > 0) {
    // Segments the kernel never cut (its TSO, our LRO): one packet, many wire frames.
    p.gsoSize = gsoSize;
    p.gsoType = type;
    p.reassembled = true;
  }
}

/**
 * The header for sending `p` (a whole frame, Ethernet header first), written into
 * `out` at `at` in the order flags, gso_type, hdr_len, gso_size, csum_start,
 * csum_offset. Returns false when the packet asks for segmentation the kernel cannot
 * do from it (GSO without a partial checksum at a TCP header inside the frame).
 */
export function writeTxHeader(p: Packet, out: Int32Array, at: number): boolean {
  const start = p.csumStart;
  let flags = 0;
  let hdrLen = 0;
  if (start >= 0) {
    flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    hdrLen = start + p.csumOffset + 2;
  }
  let gsoType = GSO_NONE;
  let gsoSize = 0;
  if (p.gsoSize > 0) {
    // The kernel cuts the payload after hdr_len bytes, so hdr_len must cover the whole
    // TCP header (its data offset, in 32-bit words, is the high nibble of byte 12).
    if (start < 0 || start + 13 > p.length) return false;
    const tcpHeader = (byteAt(p, start + 12) >>> 4) * 4;
    if (tcpHeader < 20 || start + tcpHeader > p.length) return false;
    gsoType = p.gsoType;
    gsoSize = p.gsoSize;
    hdrLen = start + tcpHeader;
  }
  out[at] = flags;
  out[at + 1] = gsoType;
  out[at + 2] = hdrLen;
  out[at + 3] = gsoSize;
  out[at + 4] = start >= 0 ? start : 0;
  out[at + 5] = start >= 0 ? p.csumOffset : 0;
  return true;
}

/** A byte of the headers, from the first fragment when it is there (it nearly always is). */
function byteAt(p: Packet, at: number): number {
  return at < p.lens[0]! ? p.bufs[0]![p.offs[0]! + at]! : p.byteAt(at);
}
