/**
 * Large receive offload over one burst, following Linux GRO (tcp_gro_receive,
 * inet_gro_receive, tcp4_gro_complete):
 *
 * - only IPv4 (no options, not a fragment) TCP segments with payload, whose checksum
 *   the device verified, with no flag but ACK (and PSH, which ends the merge);
 * - the next segment of a flow merges when its sequence number is the next one
 *   expected, its TCP header has the same length, TOS and TTL match, its payload is
 *   no larger than the first segment's (the `gsoSize`), and the IP packet stays
 *   within 64 KB; a shorter segment ends the merge (so the merged packet re-segments
 *   into exactly the segments it came from);
 * - the merged packet keeps the first segment's headers, with the last segment's
 *   acknowledgment, window and options; its IPv4 total length and header checksum
 *   are rewritten, and, as tcp4_gro_complete does, the TCP checksum field holds the
 *   pseudo-header sum with csumStart/csumOffset set (CHECKSUM_PARTIAL): the payload
 *   was verified segment by segment, and a forwarder can still finish it;
 * - `reassembled` is set, `gsoSize` is the segment size, `gsoType` GSO_TCPV4.
 *
 * Payloads are chained as fragments (no copy): the merged packet owns every frame.
 * Up to 8 flows are open at once (GRO's MAX_GRO_SKBS); a segment of a flow that does
 * not merge closes that flow's merge, so no flow's segments are ever reordered.
 */

import { readU16, readU32, writeU16 } from '../../wire/addr.js';
import { pseudoHeaderSum } from '../../wire/checksum.js';
import { GSO_TCPV4, type Packet } from '../../packet/packet.js';
import { ETHERNET_HEADER_LENGTH as ETH_HLEN, ETHERTYPE_IPV4 } from '../../wire/ethernet.js';
import { IPPROTO_TCP as PROTO_TCP } from '../../wire/ipv4.js';
import { writeIpv4Checksum } from './offload.js';
import { TCP_CSUM_OFFSET } from './segment.js';

const ACK = 0x10;
const PSH = 0x08;
const MAX_FLOWS = 8;
const MAX_IP = 65535;
const IP = ETH_HLEN;
const TCP = ETH_HLEN + 20;

export class LroMerger {
  /** Open merges: burst index, flow, expected sequence number, segment size, header length, TOS<<8|TTL, IP total length. */
  private readonly at = new Int32Array(MAX_FLOWS);
  private readonly src = new Uint32Array(MAX_FLOWS);
  private readonly dst = new Uint32Array(MAX_FLOWS);
  private readonly ports = new Uint32Array(MAX_FLOWS);
  private readonly next = new Uint32Array(MAX_FLOWS);
  private readonly mss = new Int32Array(MAX_FLOWS);
  private readonly thl = new Int32Array(MAX_FLOWS);
  private readonly tosTtl = new Int32Array(MAX_FLOWS);
  private readonly total = new Int32Array(MAX_FLOWS);
  private open = 0;
  private oldest = 0;
  /** Segments merged into an earlier one (lifetime total). */
  merged = 0;

  /** Merges in place; returns the new number of packets in `burst`. */
  merge(burst: Packet[], count: number): number {
    if (count < 2) return count; // nothing to merge with
    this.open = 0;
    this.oldest = 0;
    let out = 0;
    for (let i = 0; i < count; i++) {
      const p = burst[i]!;
      const b = p.bufs[0]!;
      const o = p.offs[0]!;
      // An IPv4 TCP segment with a 20-byte IP header, not a fragment, in one piece.
      if (p.length < TCP + 20 || p.lens[0]! < TCP + 20 || readU16(b, o + 12) !== ETHERTYPE_IPV4 || b[o + IP] !== 0x45 || b[o + IP + 9] !== PROTO_TCP || (readU16(b, o + IP + 6) & 0x3fff) !== 0) {
        burst[out++] = p;
        continue;
      }
      const total = readU16(b, o + IP + 2);
      const thl = (b[o + TCP + 12]! >>> 4) << 2;
      const src = readU32(b, o + IP + 12);
      const dst = readU32(b, o + IP + 16);
      const ports = readU32(b, o + TCP);
      const seq = readU32(b, o + TCP + 4);
      const flags = b[o + TCP + 13]!;
      const payload = total - 20 - thl;
      const tosTtl = (b[o + IP + 1]! << 8) | b[o + IP + 8]!;
      const mergeable =
        p.csumVerified && !p.reassembled && p.gsoSize === 0 && p.fragmentCount === 1 && thl >= 20 && payload > 0 &&
        IP + total <= p.length && (flags & ~PSH) === ACK;
      let c = this.find(src, dst, ports);
      if (c >= 0 && mergeable && seq === this.next[c] && thl === this.thl[c] && tosTtl === this.tosTtl[c] && payload <= this.mss[c] && this.total[c] + payload <= MAX_IP) {
        this.append(burst[this.at[c]!]!, p, c, payload, thl);
        if ((flags & PSH) !== 0 || payload < this.mss[c]!) this.close(c);
        continue;
      }
      if (c >= 0) this.close(c);
      burst[out] = p;
      if (mergeable && flags === ACK) {
        c = this.open < MAX_FLOWS ? this.open++ : this.evict();
        this.at[c] = out;
        this.src[c] = src;
        this.dst[c] = dst;
        this.ports[c] = ports;
        this.next[c] = (seq + payload) >>> 0;
        this.mss[c] = payload;
        this.thl[c] = thl;
        this.tosTtl[c] = tosTtl;
        this.total[c] = total;
      }
      out++;
    }
    return out;
  }

  private find(src: number, dst: number, ports: number): number {
    for (let c = 0; c < this.open; c++) if (this.ports[c] === ports && this.src[c] === src && this.dst[c] === dst) return c;
    return -1;
  }

  /** Ends merge `c` (moves the last open one into its place). */
  private close(c: number): void {
    const last = --this.open;
    if (c !== last) {
      this.at[c] = this.at[last]!;
      this.src[c] = this.src[last]!;
      this.dst[c] = this.dst[last]!;
      this.ports[c] = this.ports[last]!;
      this.next[c] = this.next[last]!;
      this.mss[c] = this.mss[last]!;
      this.thl[c] = this.thl[last]!;
      this.tosTtl[c] = this.tosTtl[last]!;
      this.total[c] = this.total[last]!;
    }
    if (this.oldest >= this.open) this.oldest = 0;
  }

  /** All 8 are open: the slot to reuse (round-robin, close enough to oldest-first). */
  private evict(): number {
    const c = this.oldest;
    this.oldest = (c + 1) % MAX_FLOWS;
    return c;
  }

  private append(head: Packet, p: Packet, c: number, payload: number, thl: number): void {
    const hb = head.bufs[0]!;
    const ho = head.offs[0]!;
    if (!head.reassembled) {
      // The first merge: drop Ethernet padding, mark the packet as GRO does.
      const extra = head.length - IP - this.total[c]!;
      if (extra > 0) head.trimBack(extra);
      head.reassembled = true;
      head.gsoSize = this.mss[c]!;
      head.gsoType = GSO_TCPV4;
      head.csumVerified = true;
    }
    // The last segment's acknowledgment, window and options.
    const pb = p.bufs[0]!;
    const po = p.offs[0]!;
    for (let k = 8; k < 12; k++) hb[ho + TCP + k] = pb[po + TCP + k]!;
    hb[ho + TCP + 14] = pb[po + TCP + 14]!;
    hb[ho + TCP + 15] = pb[po + TCP + 15]!;
    for (let k = 20; k < thl; k++) hb[ho + TCP + k] = pb[po + TCP + k]!;
    hb[ho + TCP + 13] = hb[ho + TCP + 13]! | (pb[po + TCP + 13]! & PSH);
    // Payload only, as a fragment chained to the head (it keeps its frame alive).
    p.trimBack(p.length - IP - 20 - thl - payload);
    p.trimFront(TCP + thl);
    head.appendPacket(p);

    const total = this.total[c]! + payload;
    this.total[c] = total;
    this.next[c] = (this.next[c]! + payload) >>> 0;
    writeU16(hb, ho + IP + 2, total);
    writeIpv4Checksum(hb, ho + IP, 20);
    writeU16(hb, ho + TCP + TCP_CSUM_OFFSET, pseudoHeaderSum(readU32(hb, ho + IP + 12), readU32(hb, ho + IP + 16), PROTO_TCP, total - 20));
    head.csumStart = TCP;
    head.csumOffset = TCP_CSUM_OFFSET;
    this.merged++;
  }
}
