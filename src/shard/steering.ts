/**
 * Receive steering: which shard handles a frame (DESIGN.md, Shards). Seastar's
 * per-protocol `forward()` (net/ip.cc `ipv4::forward`, tcp and udp `forward`, and
 * `interface::dispatch_packet`), on the bytes of an Ethernet II frame:
 *
 *   ARP                              → shard 0 (the caller applies what it learns on every shard)
 *   DHCP reply (UDP 67 → 68)         → shard 0 (DHCP runs there; its lease reaches all)
 *   other IPv4 to a group MAC        → BROADCAST (every shard)
 *   IPv4 fragment                    → 2-tuple: all fragments of a datagram meet on one shard,
 *                                      which reassembles and steers again (`shardOfDatagram`)
 *   TCP, UDP                         → a pin (our port, the peer's address), else the link's
 *                                      hash if it gives one, else the 4-tuple
 *   ICMP error                       → the 4-tuple it quotes, reversed: its flow's shard
 *   other ICMP (echo...), other IPv4 → the peer's address pin, else the 2-tuple
 *   not IPv4, malformed              → shard 0 (which drops and counts it)
 *
 * Hashes are Toeplitz (Microsoft RSS, "RSS hashing functions") over the fields of an
 * incoming packet in its order: source address, destination address, source port,
 * destination port; a hash picks `table[hash & 127]` (Microsoft RSS, "indirection
 * table"). So software steering agrees with a NIC (or the memory link) that uses the
 * same key and table, and the 2-tuple of a fragment is what an RSS NIC hashes for it.
 *
 * Sans-IO and allocation-free: one call reads a few header fields and does at most 12
 * table look-ups. It never throws on frame bytes and counts nothing (the caller counts).
 */

import { readU16, readU32, type Ipv4Address } from '../wire/addr.js';
import { ETHERNET_HEADER_LENGTH, ETHERNET_VLAN_HEADER_LENGTH, ETHERTYPE_IPV4, ETHERTYPE_VLAN } from '../wire/ethernet.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HEADER_LENGTH } from '../wire/ipv4.js';
import { ICMP_HEADER_LENGTH, isIcmpError } from '../wire/icmp.js';
import { TCP_HEADER_LENGTH } from '../wire/tcp.js';
import { UDP_HEADER_LENGTH } from '../wire/udp.js';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT } from '../wire/dhcp.js';
import { DEFAULT_RSS_KEY, type ToeplitzHasher } from '../wire/toeplitz.js';
import { evenRssTable, RSS_TABLE_SIZE } from '../link/device.js';
import { hasherFor } from '../link/memory/steer.js';
import type { PortFilter } from '../stack/ports.js';

/** "Every shard": what `shardOfFrame` returns for broadcast and multicast frames. */
export const BROADCAST = -1;

/** The most shards a redirection table of bytes can name. */
export const MAX_SHARDS = 256;

const MASK = RSS_TABLE_SIZE - 1;

export interface SteeringOptions {
  /** The device's RSS key (at least 40 bytes); Microsoft's default key otherwise. */
  key?: Uint8Array;
  /** 128 shard ids, each below `shards`; round-robin over the shards otherwise. */
  table?: ArrayLike<number>;
  /**
   * Flows pinned to a shard whatever their hash (libVMA's ring allocation by socket or
   * peer): every flow to one of our ports (`port`: a server's), or from one peer
   * (`address`). A port pin is looked at first.
   */
  pins?: readonly SteeringPin[];
}

export type SteeringPin = { port: number; shard: number } | { address: Ipv4Address; shard: number };

/** Throws a RangeError unless `table` has 128 entries, each a shard id below `shards`. */
export function checkRedirectionTable(table: ArrayLike<number>, shards: number): void {
  if (table.length !== RSS_TABLE_SIZE) {
    throw new RangeError(`a redirection table has ${RSS_TABLE_SIZE} entries, got ${table.length}`);
  }
  for (let i = 0; i < RSS_TABLE_SIZE; i++) {
    const s = table[i]!;
    if (!(Number.isInteger(s) && s >= 0 && s < shards)) {
      throw new RangeError(`redirection table entry ${i} is ${s}: shards are 0..${shards - 1}`);
    }
  }
}

export class Steering {
  readonly shards: number;
  readonly hasher: ToeplitzHasher;
  private readonly redirect = new Uint8Array(RSS_TABLE_SIZE);
  /** Pinned local ports: the shard + 1 (0: not pinned); null without port pins. */
  private readonly portPins: Uint8Array | null = null;
  private readonly addressPins: Map<Ipv4Address, number> | null = null;

  constructor(shards: number, options: SteeringOptions = {}) {
    if (!(Number.isInteger(shards) && shards >= 1 && shards <= MAX_SHARDS)) {
      throw new RangeError(`shards must be an integer in 1..${MAX_SHARDS}, got ${shards}`);
    }
    this.shards = shards;
    this.hasher = hasherFor(options.key ?? DEFAULT_RSS_KEY);
    this.setTable(options.table ?? evenRssTable(shards));
    for (const pin of options.pins ?? []) {
      if (!(Number.isInteger(pin.shard) && pin.shard >= 0 && pin.shard < shards)) throw new RangeError(`a pin names shard ${pin.shard}: shards are 0..${shards - 1}`);
      if ('port' in pin) {
        if (!(Number.isInteger(pin.port) && pin.port > 0 && pin.port < 65536)) throw new RangeError(`a pin names port ${pin.port}: ports are 1..65535`);
        this.portPins ??= new Uint8Array(65536);
        this.portPins[pin.port] = pin.shard + 1;
      } else {
        if (!(Number.isInteger(pin.address) && pin.address >= 0 && pin.address <= 0xffffffff)) throw new RangeError(`a pin names address ${String(pin.address)}: give it as a number (parseIpv4)`);
        this.addressPins ??= new Map();
        this.addressPins.set(pin.address, pin.shard);
      }
    }
  }

  /** The shard a pin names for a flow from `remote` to our `localPort` (0: no port), or -1. */
  private pinned(remote: Ipv4Address, localPort: number): number {
    const ports = this.portPins;
    if (ports !== null && localPort !== 0 && ports[localPort]! > 0) return ports[localPort]! - 1;
    return this.addressPins?.get(remote) ?? -1;
  }

  /** TCP and UDP: a pin, else the hash of the 4-tuple in incoming order (or the link's). */
  private flowShard(src: Ipv4Address, dst: Ipv4Address, srcPort: number, dstPort: number, linkHash = -1): number {
    if (this.portPins !== null || this.addressPins !== null) {
      const pin = this.pinned(src, dstPort);
      if (pin >= 0) return pin;
    }
    return this.redirect[(linkHash >= 0 ? linkHash : this.hasher.hashIpv4Ports(src, dst, srcPort, dstPort)) & MASK]!;
  }

  /** Other IPv4 (fragments, ICMP): an address pin, else the hash of the 2-tuple. */
  private pairShard(src: Ipv4Address, dst: Ipv4Address): number {
    const pin = this.addressPins?.get(src);
    return pin !== undefined ? pin : this.redirect[this.hasher.hashIpv4(src, dst) & MASK]!;
  }

  /** A copy of the redirection table. */
  get table(): Uint8Array {
    return this.redirect.slice();
  }

  /** Replaces the redirection table (checked first: on a RangeError the old one stays). */
  setTable(table: ArrayLike<number>): void {
    checkRedirectionTable(table, this.shards);
    this.redirect.set(table);
  }

  /**
   * The shard for the frame at `off` in `b`, or BROADCAST: `len` bytes of it are there
   * to read (at least its headers), `frameLen` is its whole length (more when the rest
   * is in other fragments; it checks the IPv4 total length). `linkHash`
   * (≥ 0) is the link's own hash of the frame: used for TCP and UDP instead of
   * computing one (Seastar: "it is better to use it"). ICMP errors and fragments are
   * hashed here whatever the link says: their flow is not what a NIC hashes.
   */
  shardOfFrame(b: Uint8Array, off: number, len: number, linkHash = -1, frameLen = len): number {
    if (!(off >= 0 && len >= ETHERNET_HEADER_LENGTH && off + len <= b.length)) return 0;
    let ethertype = readU16(b, off + 12);
    let ip = off + ETHERNET_HEADER_LENGTH;
    if (ethertype === ETHERTYPE_VLAN) {
      if (len < ETHERNET_VLAN_HEADER_LENGTH) return 0;
      ethertype = readU16(b, off + 16);
      ip = off + ETHERNET_VLAN_HEADER_LENGTH;
    }
    // ARP, IPv6 and everything else: shard 0.
    if (ethertype !== ETHERTYPE_IPV4 || off + len - ip < IPV4_HEADER_LENGTH) return 0;
    const vihl = b[ip]!;
    const ihl = (vihl & 0x0f) << 2;
    const total = readU16(b, ip + 2);
    if (vihl >>> 4 !== 4 || ihl < IPV4_HEADER_LENGTH || ihl > off + len - ip || total < ihl || total > frameLen - (ip - off)) return 0;
    // The I/G bit of the destination MAC: broadcast or multicast.
    const group = (b[off]! & 1) !== 0;
    const proto = b[ip + 9]!;
    const src = readU32(b, ip + 12);
    const dst = readU32(b, ip + 16);
    const l4 = ip + ihl;
    const l4Len = total - ihl;
    // What of the L4 part is here to read (the rest may be in other fragments).
    const l4Here = Math.min(l4Len, off + len - l4);
    // MF or a fragment offset (RFC 791): only the first fragment has ports.
    if ((readU16(b, ip + 6) & 0x3fff) !== 0) return group ? BROADCAST : this.pairShard(src, dst);
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      if (l4Len < (proto === IPPROTO_TCP ? TCP_HEADER_LENGTH : UDP_HEADER_LENGTH) || l4Here < 4) return 0;
      const srcPort = readU16(b, l4);
      const dstPort = readU16(b, l4 + 2);
      if (proto === IPPROTO_UDP && srcPort === DHCP_SERVER_PORT && dstPort === DHCP_CLIENT_PORT) return 0;
      if (group) return BROADCAST;
      return this.flowShard(src, dst, srcPort, dstPort, linkHash);
    }
    if (group) return BROADCAST;
    if (proto === IPPROTO_ICMP && l4Here >= ICMP_HEADER_LENGTH && isIcmpError(b[l4]!)) {
      return this.shardOfQuote(b, l4 + ICMP_HEADER_LENGTH, l4Here - ICMP_HEADER_LENGTH);
    }
    return this.pairShard(src, dst);
  }

  /**
   * The shard for a datagram reassembled from fragments that came to a unicast address:
   * Seastar's "forward twice", by the 4-tuple now that the ports are known, as if it
   * had come whole. (Fragments to a group address went to every shard: each
   * reassembles its own copy and keeps it.)
   */
  shardOfDatagram(src: Ipv4Address, dst: Ipv4Address, protocol: number, srcPort: number, dstPort: number): number {
    if (protocol !== IPPROTO_TCP && protocol !== IPPROTO_UDP) return this.pairShard(src, dst);
    if (protocol === IPPROTO_UDP && srcPort === DHCP_SERVER_PORT && dstPort === DHCP_CLIENT_PORT) return 0;
    return this.flowShard(src, dst, srcPort, dstPort);
  }

  /**
   * The shard where the incoming packets (remote → local) of a TCP or UDP flow land
   * when hashed here. With a link whose own hash is not this Toeplitz key and table
   * (TAP), the link decides, and this is only what software steering would do.
   */
  shardOfFlow(local: Ipv4Address, remote: Ipv4Address, localPort: number, remotePort: number): number {
    return this.flowShard(remote, local, remotePort, localPort);
  }

  /** For `EphemeralPorts`: connect takes only ports whose incoming packets steer to `shard` (Seastar's connect). */
  portFilter(shard: number): PortFilter {
    return (local, remote, remotePort, port) => this.shardOfFlow(local, remote, port, remotePort) === shard;
  }

  /**
   * An ICMP error quotes an IPv4 header and at least 8 bytes of a datagram we sent
   * (RFC 792): source us, destination the peer. The flow's incoming packets have them
   * the other way round, so hash (quoted dst, quoted src, quoted dst port, quoted src
   * port), and the error reaches the shard that holds the socket.
   */
  private shardOfQuote(b: Uint8Array, q: number, qLen: number): number {
    if (qLen < IPV4_HEADER_LENGTH) return 0;
    const vihl = b[q]!;
    const ihl = (vihl & 0x0f) << 2;
    if (vihl >>> 4 !== 4 || ihl < IPV4_HEADER_LENGTH || ihl > qLen) return 0;
    const proto = b[q + 9]!;
    const src = readU32(b, q + 12);
    const dst = readU32(b, q + 16);
    // Ports only in a first fragment (offset 0), and only if at least 4 bytes were quoted.
    if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && (readU16(b, q + 6) & 0x1fff) === 0 && qLen - ihl >= 4) {
      const srcPort = readU16(b, q + ihl);
      const dstPort = readU16(b, q + ihl + 2);
      // Our DHCP request (68 → 67): its answers come to shard 0.
      if (proto === IPPROTO_UDP && srcPort === DHCP_CLIENT_PORT && dstPort === DHCP_SERVER_PORT) return 0;
      return this.flowShard(dst, src, dstPort, srcPort);
    }
    return this.pairShard(dst, src);
  }
}
