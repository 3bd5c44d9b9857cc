/**
 * One queue pair of a memory device, as a NIC's TX/RX rings. A poll first hands over
 * what was received, then pulls and sends, so an answer goes out in the same poll:
 *
 * - transmit: `poll` pulls packets from the providers round-robin while the TX ring
 *   has room (a provider that returns null is not asked again in this poll), then
 *   puts about `burst` wire frames from the ring on the medium (a super-frame that
 *   will be segmented counts its segments). A full ring asks nobody: that is the
 *   back pressure the stack sees.
 * - receive: frames the device steered here wait in the bounded RX ring (a full ring
 *   drops, counted in rxDrops, as a NIC drops when its ring has no free descriptor);
 *   `poll` hands them to the receiver in bursts of up to `burst`, merged by LRO when
 *   the device has it. The receiver owns the packets.
 */

import type { Packet } from '../../packet/packet.js';
import type { FramePool } from '../../packet/pool.js';
import { newQueueStats, type Queue, type QueueStats, type RxHandler, type TxProvider } from '../device.js';
import { TxProviders } from '../providers.js';
import type { LroMerger } from './merge.js';
import { PacketRing } from '../../packet/ring.js';

/** What a queue needs from its device. */
export interface QueueOwner {
  /** Returns the packet's cost in wire frames (at least 1). */
  transmit(pkt: Packet, queue: MemoryQueue, now: number): number;
}

export class MemoryQueue implements Queue {
  readonly stats: QueueStats = newQueueStats();
  readonly tx: PacketRing;
  readonly rx: PacketRing;
  receiver: RxHandler | null = null;
  private readonly providers = new TxProviders();
  /** Negative: wire frames the last polls sent beyond their burst. */
  private credit = 0;
  private readonly burstBuf: Packet[];

  constructor(
    readonly id: number,
    private readonly owner: QueueOwner,
    txRing: number,
    rxRing: number,
    readonly burst: number,
    private readonly lro: LroMerger | null,
    /** The device's receive pools (shared by its queues). */
    readonly rxPools: readonly FramePool[] = [],
  ) {
    this.tx = new PacketRing(txRing);
    this.rx = new PacketRing(rxRing);
    this.burstBuf = new Array<Packet>(burst);
  }

  setReceiver(handler: RxHandler): void {
    this.receiver = handler;
  }

  addProvider(provider: TxProvider): void {
    this.providers.add(provider);
  }

  removeProvider(provider: TxProvider): void {
    this.providers.remove(provider);
  }

  /** Segments merged by LRO on this queue. */
  get lroMerged(): number {
    return this.lro?.merged ?? 0;
  }

  poll(now: number): number {
    // Receive first: what the stack answers to this burst (ACKs, responses) is pulled
    // and sent in the same poll, not one pass of the loop later.
    const received = this.deliver();
    return received + this.pull() + this.send(now);
  }

  nextEventAt(): number {
    return this.tx.size > 0 || this.rx.size > 0 ? 0 : Infinity;
  }

  /** Called by the device: a received frame for this queue; false when the ring is full. */
  arrive(p: Packet): boolean {
    if (!this.rx.push(p)) {
      this.stats.rxDrops++;
      p.release();
      return false;
    }
    this.stats.rxFrames++;
    this.stats.rxBytes += p.length;
    return true;
  }

  /** Releases what the rings hold (a device being torn down). */
  clear(): void {
    this.tx.clear();
    this.rx.clear();
  }

  private pull(): number {
    return this.providers.pullInto(this.tx);
  }

  /**
   * Up to `burst` wire frames from the ring per poll, on average: a super-frame that
   * will be segmented costs its segments, and what a poll overspends it owes the next
   * (deficit round robin), so the receiving side gets no more than it can take.
   */
  private send(now: number): number {
    let n = 0;
    let credit = this.credit + this.burst;
    while (credit > 0) {
      const pkt = this.tx.shift();
      if (pkt === null) break;
      credit -= this.owner.transmit(pkt, this, now);
      n++;
    }
    this.credit = credit < 0 ? credit : 0;
    // Paying off a deficit is progress too: the loop must come back at once.
    return n > 0 || this.tx.size === 0 ? n : 1;
  }

  private deliver(): number {
    const ring = this.rx;
    if (ring.size === 0) return 0;
    const handler = this.receiver;
    const burst = this.burstBuf;
    let n = 0;
    for (; n < this.burst; n++) {
      const p = ring.shift();
      if (p === null) break;
      burst[n] = p;
    }
    if (handler === null) {
      // No driver bound: the frames are dropped (the device also refuses new ones).
      for (let i = 0; i < n; i++) burst[i]!.release();
      this.stats.rxDrops += n;
      return n;
    }
    const count = this.lro !== null ? this.lro.merge(burst, n) : n;
    handler(burst, count);
    return n;
  }
}
