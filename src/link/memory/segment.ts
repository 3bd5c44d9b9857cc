/**
 * TCP segmentation offload, as a NIC (or Linux's tcp_gso_segment) cuts a super-frame:
 * every segment gets a copy of the Ethernet, IPv4 and TCP headers and `mss` bytes of
 * payload (the last one the rest); IPv4 total length, id (+1 per segment) and header
 * checksum; TCP sequence number advanced by the payload before it; FIN and PSH only on
 * the last segment, CWR only on the first (RFC 3168 §6.1.2: CWR once per window).
 *
 * The segment is written straight into the receiver's frame (one copy, like DMA).
 * With `finishL4` the TCP checksum is computed; without it the field gets the
 * pseudo-header sum and the caller marks the frame partial (csumStart/csumOffset), as
 * Linux does when the egress device will finish the checksum.
 */

import { writeU16, writeU32 } from '../../wire/addr.js';
import { addSums, finish, pseudoHeaderSum, sum16 } from '../../wire/checksum.js';
import type { Frame } from './frame.js';
import { IPPROTO_TCP as PROTO_TCP } from '../../wire/ipv4.js';
import { writeIpv4Checksum } from './offload.js';

const FIN = 0x01;
const PSH = 0x08;
const CWR = 0x80;
/** Offset of the checksum in the TCP header. */
export const TCP_CSUM_OFFSET = 16;

/** Writes segment `i` of super-frame `f` at `dst[at]`; returns its length. */
export function writeSegment(f: Frame, i: number, dst: Uint8Array, at: number, finishL4: boolean): number {
  const l4 = f.l4Off;
  const hdrLen = l4 + f.tcpHl;
  const from = i * f.mss;
  const segLen = Math.min(f.mss, f.length - hdrLen - from);
  const src = f.hdr;
  const h = f.h;
  for (let k = 0; k < hdrLen; k++) dst[at + k] = src[h + k]!;
  f.pkt.copyTo(dst, at + hdrLen, hdrLen + from, segLen);

  const ip = at + f.ipOff;
  writeU16(dst, ip + 2, f.ipHl + f.tcpHl + segLen);
  writeU16(dst, ip + 4, (f.ipId + i) & 0xffff);
  writeIpv4Checksum(dst, ip, f.ipHl);

  const tcp = at + l4;
  writeU32(dst, tcp + 4, (f.seq + from) >>> 0);
  let flags = f.tcpFlags;
  if (i !== f.segments - 1) flags &= ~(FIN | PSH);
  if (i !== 0) flags &= ~CWR;
  dst[tcp + 13] = flags;
  const tcpLen = f.tcpHl + segLen;
  const ps = pseudoHeaderSum(f.src, f.dst, PROTO_TCP, tcpLen);
  if (finishL4) {
    dst[tcp + TCP_CSUM_OFFSET] = 0;
    dst[tcp + TCP_CSUM_OFFSET + 1] = 0;
    writeU16(dst, tcp + TCP_CSUM_OFFSET, finish(addSums(ps, sum16(dst, tcp, tcpLen))));
  } else {
    writeU16(dst, tcp + TCP_CSUM_OFFSET, ps);
  }
  return hdrLen + segLen;
}
