/**
 * What one shard's stack counts, layer by layer: every drop has a reason and a counter
 * (DESIGN.md, Quality bar), named after Linux's SNMP counters where one exists.
 */

export interface LinkCounters {
  rxFrames: number;
  txFrames: number;
  /** Not for our MAC, not broadcast, not a joined multicast group. */
  rxOtherHost: number;
  /** An EtherType we do not speak (IPv6, LLDP, ...), or an 802.1Q-tagged frame. */
  rxUnknownType: number;
  rxTruncated: number;
  /** Claimed by a packet filter (DHCP, raw consumers). */
  rxFiltered: number;
  /** The queue of ready frames (ARP, released after resolution) was full. */
  txQueueFull: number;
  /** No frame could be had from the pool. */
  txNoBuffer: number;
}

export interface ArpCounters {
  rxRequests: number;
  rxReplies: number;
  txRequests: number;
  txReplies: number;
  rxMalformed: number;
  /** Requests for an address that is not ours. */
  rxNotForUs: number;
  /** Resolutions that got no answer after every retry. */
  failed: number;
  /** Packets dropped: the per-address queue was full, or the resolution failed. */
  queueDrops: number;
  /** The cache was full of unresolved entries: a new resolution could not start. */
  cacheFull: number;
  evicted: number;
}

export interface Ipv4Counters {
  inReceives: number;
  inDelivers: number;
  inHdrErrors: number;
  inTruncated: number;
  inCsumErrors: number;
  /** Not addressed to us (we do not forward). */
  inAddrErrors: number;
  /** From an address no host may send from: broadcast, multicast, class E, loopback, ours (RFC 1122 §3.2.1.3). */
  inMartians: number;
  inUnknownProtos: number;
  outRequests: number;
  /** No route to the destination. */
  outNoRoutes: number;
  /** Larger than the MTU with DF set, or a fragment could not be built. */
  fragFails: number;
  fragCreates: number;
  fragOks: number;
  reasmReqds: number;
  reasmOks: number;
  reasmFails: number;
  reasmTimeouts: number;
  reasmOverlaps: number;
  reasmOversize: number;
  /** Fragments dropped because the reassembly memory limit was reached. */
  reasmMemoryDrops: number;
  /** Fragments copied out of their frames before being kept: the stack was short of receive memory. */
  reasmPressureCopies: number;
}

export function newLinkCounters(): LinkCounters {
  return { rxFrames: 0, txFrames: 0, rxOtherHost: 0, rxUnknownType: 0, rxTruncated: 0, rxFiltered: 0, txQueueFull: 0, txNoBuffer: 0 };
}

export function newArpCounters(): ArpCounters {
  return { rxRequests: 0, rxReplies: 0, txRequests: 0, txReplies: 0, rxMalformed: 0, rxNotForUs: 0, failed: 0, queueDrops: 0, cacheFull: 0, evicted: 0 };
}

export function newIpv4Counters(): Ipv4Counters {
  return {
    inReceives: 0, inDelivers: 0, inHdrErrors: 0, inTruncated: 0, inCsumErrors: 0, inAddrErrors: 0, inMartians: 0, inUnknownProtos: 0,
    outRequests: 0, outNoRoutes: 0, fragFails: 0, fragCreates: 0, fragOks: 0,
    reasmReqds: 0, reasmOks: 0, reasmFails: 0, reasmTimeouts: 0, reasmOverlaps: 0, reasmOversize: 0, reasmMemoryDrops: 0, reasmPressureCopies: 0,
  };
}
