/**
 * ARP for IPv4 over Ethernet (RFC 826), with what a host's neighbour table needs
 * beyond the RFC (as Linux's neighbour subsystem has it):
 * - a cache bounded in size, whose resolved entries age out after `reachableMs`;
 * - a bounded queue per address of packets waiting for its resolution;
 * - retries, then failure: the queued packets are dropped and the sender told
 *   (a connect to an absent host fails with EHOSTUNREACH rather than hanging);
 * - an entry past its reachable time is still used while it is asked again (Linux's
 *   STALE state), so a busy flow does not stall every 30 s;
 * - answers only for our own addresses; gratuitous ARP when an address is set;
 * - learns a new neighbour only from a request addressed to us (Linux arp_accept=0:
 *   an unsolicited reply or announcement only refreshes a known entry), and never a
 *   broadcast or multicast hardware address.
 */

import { Packet } from '../packet/packet.js';
import type { Timer } from '../time/timers.js';
import { isMulticastMac, MAC_BROADCAST, type Ipv4Address, type MacAddress } from '../wire/addr.js';
import { ARP_LENGTH, ARP_OP_REPLY, ARP_OP_REQUEST, emitArp, parseArp } from '../wire/arp.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../wire/ethernet.js';
import { newArpCounters, type ArpCounters } from './counters.js';
import type { StackEnv } from './env.js';
import type { L3Receiver, NetworkInterface } from './interface.js';

export interface ArpOptions {
  /** Most entries, resolved or not (default 1024). */
  cacheSize?: number;
  /** A resolved entry is trusted this long after it was confirmed (ms, default 30000, Linux base_reachable_time). */
  reachableMs?: number;
  /** Requests sent before giving up (default 3, Linux mcast_solicit) ... */
  retries?: number;
  /** ... this far apart (ms, default 1000, Linux retrans_time). */
  retryMs?: number;
  /** Packets held per unresolved address (default 128: two 64 KB datagrams in fragments; Linux holds 212,992 bytes); more are dropped. */
  queueLength?: number;
  /** Packets held for all unresolved addresses together (default 1024). */
  queueTotal?: number;
  /**
   * Answer requests for our address (default true). Of several stacks sharing an address
   * (shards), one answers; the others still learn from what they see.
   */
  answer?: boolean;
}

class Entry {
  mac = -1;
  expires = 0;
  tries = 0;
  queue: Packet[] = [];
  timer: Timer | null = null;

  constructor(readonly ip: Ipv4Address) {}

  get resolved(): boolean {
    return this.mac >= 0;
  }
}

/** Told when a resolution fails, with the packets that were waiting for it (they are released after). */
export type ArpFailure = (ip: Ipv4Address, packets: Packet[], now: number) => void;

export class Arp implements L3Receiver {
  readonly counters: ArpCounters = newArpCounters();
  private readonly cache = new Map<Ipv4Address, Entry>();
  private readonly cacheSize: number;
  private readonly reachableMs: number;
  private readonly retries: number;
  private readonly retryMs: number;
  private readonly queueLength: number;
  private readonly queueTotal: number;
  private readonly answer: boolean;
  /** A reply answered a request of ours (shards tell each other: src/shard/shard-host.ts). */
  onLearned: ((ip: Ipv4Address, mac: MacAddress) => void) | null = null;
  private queued = 0;
  onFailure: ArpFailure | null = null;

  constructor(
    private readonly env: StackEnv,
    private readonly iface: NetworkInterface,
    /** Our addresses: we answer for these. */
    private readonly isOurs: (ip: Ipv4Address) => boolean,
    options: ArpOptions = {},
  ) {
    this.cacheSize = options.cacheSize ?? 1024;
    this.reachableMs = options.reachableMs ?? 30_000;
    this.retries = options.retries ?? 3;
    this.retryMs = options.retryMs ?? 1000;
    this.queueLength = options.queueLength ?? 128;
    this.queueTotal = options.queueTotal ?? 1024;
    this.answer = options.answer ?? true;
  }

  /** Entries in the cache (resolved or waiting). */
  get size(): number {
    return this.cache.size;
  }

  /** The MAC address of `ip` if it is resolved and fresh, else -1. */
  lookup(ip: Ipv4Address, now: number): MacAddress {
    const e = this.cache.get(ip);
    return e !== undefined && e.resolved && e.expires > now ? e.mac : -1;
  }

  /** Adds or refreshes an entry by hand (static neighbours, tests). */
  learn(ip: Ipv4Address, mac: MacAddress, now: number): void {
    this.update(ip, mac, now, true);
  }

  /**
   * Sends an IPv4 packet (`p` starts at the IP header) to the neighbour `ip`: at once
   * when resolved (returns the frame), else queued until the answer comes (returns null).
   */
  resolve(ip: Ipv4Address, p: Packet, now: number): Packet | null {
    if (ip === 0xffff_ffff) return this.iface.frame(p, MAC_BROADCAST, ETHERTYPE_IPV4);
    const known = this.cache.get(ip);
    if (known !== undefined && known.resolved) {
      // Stale: keep using it while asking again; a failed re-resolution removes it.
      if (known.expires <= now && known.timer === null) this.startResolution(known, now);
      return this.iface.frame(p, known.mac, ETHERTYPE_IPV4);
    }
    const e = known ?? this.insert(ip);
    if (e === null) {
      this.counters.queueDrops++;
      p.release();
      return null;
    }
    if (e.queue.length >= this.queueLength || this.queued >= this.queueTotal) {
      this.counters.queueDrops++;
      p.release();
      return null;
    }
    e.queue.push(p);
    this.queued++;
    // A stale entry is asked again; a pending one is asked by its timer.
    if (e.timer === null) this.startResolution(e, now);
    return null;
  }

  /** Gratuitous ARP (RFC 5227 §3 announcement): tells the link that `ip` is at our MAC. */
  announce(ip: Ipv4Address): void {
    this.sendArp(ARP_OP_REQUEST, MAC_BROADCAST, ip, 0, ip);
  }

  /** An ARP probe (RFC 5227 §2.1.1): who has `ip`? asked from 0.0.0.0, so no cache learns from it. */
  probe(ip: Ipv4Address): void {
    this.sendArp(ARP_OP_REQUEST, MAC_BROADCAST, 0, 0, ip);
  }

  /** Sees every well-formed ARP packet received (sender, sender MAC, target), e.g. address conflict detection. */
  watcher: ((spa: Ipv4Address, sha: MacAddress, tpa: Ipv4Address) => void) | null = null;

  receive(p: Packet, now: number): void {
    const at = p.front(Math.min(p.length, ARP_LENGTH));
    const a = at < 0 ? 'truncated' : parseArp(p.bufs[0]!, at, p.length);
    p.release();
    if (typeof a === 'string') {
      this.counters.rxMalformed++;
      return;
    }
    if (a.op === ARP_OP_REQUEST) this.counters.rxRequests++;
    else this.counters.rxReplies++;
    this.watcher?.(a.spa, a.sha, a.tpa);
    const forUs = this.isOurs(a.tpa);
    // RFC 826 "Packet Reception": update the sender if we know it; add it only when it
    // asks us (see above). A gratuitous ARP (spa == tpa) refreshes a known entry.
    const asked = this.cache.get(a.spa);
    const answered = a.op !== ARP_OP_REQUEST && forUs && asked !== undefined && !asked.resolved;
    if (a.spa !== 0 && !isMulticastMac(a.sha)) {
      this.update(a.spa, a.sha, now, forUs && a.op === ARP_OP_REQUEST);
      if (answered) this.onLearned?.(a.spa, a.sha);
    }
    if (!forUs) {
      this.counters.rxNotForUs++;
      return;
    }
    if (a.op === ARP_OP_REQUEST && this.answer) this.sendArp(ARP_OP_REPLY, a.sha, a.tpa, a.sha, a.spa);
  }

  /** An entry another stack of our address learned (a shard's answered request): taken as if answered here. */
  adopt(ip: Ipv4Address, mac: MacAddress, now: number): void {
    if (ip !== 0 && !isMulticastMac(mac)) this.update(ip, mac, now, true);
  }

  /** Drops every entry and the packets waiting (the stack is being torn down). */
  clear(): void {
    for (const e of this.cache.values()) this.drop(e);
    this.cache.clear();
  }

  private insert(ip: Ipv4Address): Entry | null {
    if (this.cache.size >= this.cacheSize) {
      // Evict the least recently confirmed resolved entry; never one with waiting packets.
      let victim: Entry | null = null;
      for (const e of this.cache.values()) {
        if (e.resolved && e.timer === null && e.queue.length === 0) {
          victim = e;
          break;
        }
      }
      if (victim === null) {
        this.counters.cacheFull++;
        return null;
      }
      this.cache.delete(victim.ip);
      this.counters.evicted++;
    }
    const e = new Entry(ip);
    this.cache.set(ip, e);
    return e;
  }

  private update(ip: Ipv4Address, mac: MacAddress, now: number, create: boolean): void {
    let e = this.cache.get(ip);
    if (e === undefined) {
      if (!create) return;
      const fresh = this.insert(ip);
      if (fresh === null) return;
      e = fresh;
    } else {
      // Keep the map in order of confirmation, so eviction takes the oldest.
      this.cache.delete(ip);
      this.cache.set(ip, e);
    }
    e.mac = mac;
    e.expires = now + this.reachableMs;
    e.tries = 0;
    if (e.timer !== null) {
      this.env.timers.cancel(e.timer);
      e.timer = null;
    }
    const waiting = e.queue;
    if (waiting.length > 0) {
      e.queue = [];
      this.queued -= waiting.length;
      for (const p of waiting) this.iface.send(this.iface.frame(p, mac, ETHERTYPE_IPV4));
      this.env.wake();
    }
  }

  private startResolution(e: Entry, now: number): void {
    e.tries = 0;
    e.timer = this.env.timers.create((t) => this.retry(e, t));
    this.retry(e, now);
  }

  private retry(e: Entry, now: number): void {
    if (e.tries >= this.retries) {
      this.counters.failed++;
      this.cache.delete(e.ip);
      const waiting = e.queue;
      e.queue = [];
      e.timer = null;
      this.queued -= waiting.length;
      this.counters.queueDrops += waiting.length;
      this.onFailure?.(e.ip, waiting, now);
      for (const p of waiting) p.release();
      return;
    }
    e.tries++;
    const src = this.env.sourceFor(e.ip) ?? 0;
    this.sendArp(ARP_OP_REQUEST, MAC_BROADCAST, src, 0, e.ip);
    this.env.timers.arm(e.timer!, now + this.retryMs);
  }

  private drop(e: Entry): void {
    if (e.timer !== null) this.env.timers.cancel(e.timer);
    e.timer = null;
    for (const p of e.queue) p.release();
    this.queued -= e.queue.length;
    e.queue = [];
  }

  private sendArp(op: number, dstMac: MacAddress, spa: Ipv4Address, tha: MacAddress, tpa: Ipv4Address): void {
    const p = Packet.alloc(this.env.pool);
    if (p === null) {
      this.iface.counters.txNoBuffer++;
      return;
    }
    emitArp({ op, sha: this.iface.mac, spa, tha, tpa }, p.bufs[0]!, p.append(ARP_LENGTH));
    if (op === ARP_OP_REQUEST) this.counters.txRequests++;
    else this.counters.txReplies++;
    this.iface.send(this.iface.frame(p, dstMac, ETHERTYPE_ARP));
    this.env.wake();
  }
}
