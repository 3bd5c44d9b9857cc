/**
 * The contract between the IPv4 layer and the protocols above it (ICMP, UDP, TCP), as
 * Seastar's ipv4 has it: receive is pushed up, transmit is pulled down.
 *
 * Receive: IPv4 trims its header and hands the protocol a packet that starts at the L4
 * header, with the addresses beside it. The protocol owns the packet from then on.
 * `packet.csumVerified` says whether the device (or LRO) has already checked the L4
 * checksum; when false, the protocol checks it.
 *
 * Transmit: when the device has room, IPv4 asks each protocol in turn for its next
 * packet (`pull`). The protocol builds the packet at that moment, so a TCP segment
 * carries the newest ACK and window; it starts at the L4 header with enough headroom
 * for IPv4 and Ethernet in front (`L4_HEADROOM`), and the protocol fills in `out`.
 */

import type { Ipv4Address } from '../wire/addr.js';
import type { Packet } from '../packet/packet.js';

/** Headroom an L4 packet leaves for the layers below: Ethernet with a VLAN tag (18) and IPv4 with options (60). */
export const L4_HEADROOM = 80;

/** Where a pulled L4 packet goes: filled in by the protocol, read by IPv4 (one object, reused). */
export interface L4Out {
  src: Ipv4Address;
  dst: Ipv4Address;
  /** Don't-fragment: TCP sets it (path MTU discovery, RFC 1191); UDP does not. */
  df: boolean;
  /** Type of service byte (DSCP and ECN), usually 0. */
  tos: number;
  /** 0 for the stack's default TTL. */
  ttl: number;
}

/** An ICMP error about a datagram we sent, as far as the embedded headers tell (RFC 1122 §3.2.2). */
export interface IcmpErrorInfo {
  type: number;
  code: number;
  /** Next-hop MTU for fragmentation-needed (RFC 1191), else 0. */
  mtu: number;
  /** The addresses and ports of the datagram we sent. */
  src: Ipv4Address;
  dst: Ipv4Address;
  srcPort: number;
  dstPort: number;
  /** TCP: the sequence number of the segment we sent (RFC 5927 checks it is in flight). */
  seq: number;
}

export interface L4Protocol {
  readonly protocol: number;
  /** A datagram for us; `p` starts at the L4 header; the protocol owns `p`. */
  receive(p: Packet, src: Ipv4Address, dst: Ipv4Address, now: number): void;
  /** The next packet to send, or null when there is none; fills in `out`. */
  pull(out: L4Out, now: number): Packet | null;
  /** An ICMP error about something this protocol sent. */
  icmpError?(info: IcmpErrorInfo, now: number): void;
}
