/**
 * The L2 part of one shard's stack (Seastar's `interface`): it takes bursts from its
 * device queue, filters by destination MAC (ours, broadcast, joined multicast groups),
 * and hands each frame, Ethernet header trimmed, to ARP or IPv4 by EtherType. Received
 * frames are never modified in place: a broadcast frame may be seen by other views.
 *
 * Transmit is pulled by the queue: first the frames that are ready as they are (ARP
 * requests and replies, packets released by an ARP resolution), then IPv4, which pulls
 * from the protocols above it.
 */

import type { Packet } from '../packet/packet.js';
import { PacketRing } from '../packet/ring.js';
import type { Queue } from '../link/device.js';
import { MAC_BROADCAST, readMac, readU16, writeMac, writeU16, type MacAddress } from '../wire/addr.js';
import { ETHERNET_HEADER_LENGTH, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../wire/ethernet.js';
import { newLinkCounters, type LinkCounters } from './counters.js';

/** What the interface hands received frames to (the payload after the Ethernet header). */
export interface L3Receiver {
  receive(p: Packet, now: number): void;
}

/** Where the interface pulls IPv4 frames from (whole frames, Ethernet header included). */
export interface L3Source {
  pull(now: number): Packet | null;
}

/** The receiver of a detached queue: it owns what it is handed, so it frees it. */
function releaseAll(burst: Packet[], count: number): void {
  for (let i = 0; i < count; i++) burst[i]!.release();
}

export class NetworkInterface {
  readonly counters: LinkCounters = newLinkCounters();
  private readonly ready: PacketRing;
  private readonly multicast = new Set<MacAddress>();
  arp: L3Receiver | null = null;
  ipv4: (L3Receiver & L3Source) | null = null;
  /** Called once at the end of each receive burst (TCP runs its deferred callbacks there). */
  afterBurst: (() => void) | null = null;

  constructor(
    readonly mac: MacAddress,
    private readonly clock: { now(): number },
    readyQueue = 512,
  ) {
    this.ready = new PacketRing(readyQueue);
  }

  /** Binds this interface to a device queue: its bursts come here, and it pulls from us. */
  attach(queue: Queue): void {
    queue.setReceiver(this.receiveBurst);
    queue.addProvider(this.pull);
  }

  detach(queue: Queue): void {
    queue.setReceiver(releaseAll);
    queue.removeProvider(this.pull);
  }

  joinMulticast(mac: MacAddress): void {
    this.multicast.add(mac);
  }

  leaveMulticast(mac: MacAddress): void {
    this.multicast.delete(mac);
  }

  readonly receiveBurst = (burst: Packet[], count: number): void => {
    const now = this.clock.now();
    for (let i = 0; i < count; i++) this.receive(burst[i]!, now);
    this.afterBurst?.();
  };

  private receive(p: Packet, now: number): void {
    this.counters.rxFrames++;
    const at = p.front(ETHERNET_HEADER_LENGTH);
    if (at < 0) {
      this.counters.rxTruncated++;
      p.release();
      return;
    }
    const b = p.bufs[0]!;
    const dst = readMac(b, at);
    if (dst !== this.mac && dst !== MAC_BROADCAST && !this.multicast.has(dst)) {
      this.counters.rxOtherHost++;
      p.release();
      return;
    }
    p.linkBroadcast = dst !== this.mac;
    const type = readU16(b, at + 12);
    const next = type === ETHERTYPE_IPV4 ? this.ipv4 : type === ETHERTYPE_ARP ? this.arp : null;
    if (next === null) {
      this.counters.rxUnknownType++;
      p.release();
      return;
    }
    p.trimFront(ETHERNET_HEADER_LENGTH);
    next.receive(p, now);
  }

  /** Puts an Ethernet header in front of `p` (which must have the headroom, or a pool). */
  frame(p: Packet, dst: MacAddress, ethertype: number): Packet {
    const at = p.prepend(ETHERNET_HEADER_LENGTH);
    const b = p.bufs[0]!;
    writeMac(b, at, dst);
    writeMac(b, at + 6, this.mac);
    writeU16(b, at + 12, ethertype);
    return p;
  }

  /** Queues a frame that is ready to go (it has its Ethernet header); false (and released) when the queue is full. */
  send(p: Packet): boolean {
    if (!this.ready.push(p)) {
      this.counters.txQueueFull++;
      p.release();
      return false;
    }
    return true;
  }

  /** Frames waiting in the ready queue. */
  get queued(): number {
    return this.ready.size;
  }

  readonly pull = (): Packet | null => {
    let p = this.ready.shift();
    // IPv4 may queue frames here instead of returning one (fragments): they come next.
    if (p === null && this.ipv4 !== null) p = this.ipv4.pull(this.clock.now()) ?? this.ready.shift();
    if (p !== null) this.counters.txFrames++;
    return p;
  };

  /** Releases what is queued (the stack is being torn down). */
  clear(): void {
    this.ready.clear();
  }
}
