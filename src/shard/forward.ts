/**
 * Frames that arrive on the wrong shard, handed to the right one over the mesh without
 * copying, and given back to the shard that owns them (Seastar's `free_on_cpu`).
 *
 * - A shard's receive pools live in SharedArrayBuffers that every shard can read. A
 *   frame crosses as a descriptor: which pool (of the sender's), which slot, where its
 *   bytes are and how many. The receiver wraps those bytes as a Packet (read-only by
 *   rule) whose release sends a FREE descriptor back; only the owner ever touches its
 *   pool's free list.
 * - A packet that is not one whole frame of a shared pool (merged by LRO, reassembled,
 *   a view) is copied once, into frames of the sender's own shared pools, and those go:
 *   one frame, or a chain of them for a packet larger than a frame (each but the last
 *   flagged "more"; the receiver joins them into one packet, its pieces still the
 *   sender's frames, each given back on release).
 * - Bounded: at most `maxInFlight` of a shard's frames may be held by any one other shard
 *   (Seastar drops beyond 1,000 in flight); past it, or with the ring full, the frame is
 *   dropped and counted. The rings are sized so that FREE descriptors always fit (each
 *   ring holds both directions' worst case), so giving back never fails.
 */
import { Packet } from '../packet/packet.js';
import type { Owner } from '../packet/owner.js';
import type { FramePool } from '../packet/pool.js';
import type { RxHandler } from '../link/device.js';
import type { MeshEndpoint } from './mesh.js';

/** Descriptor kinds (low byte of word 0); the pool index is in bits 8-15, flags in 16-23. */
export const DESC_FRAME = 1;
export const DESC_FREE = 2;
/**
 * The offload requests of the packet whose frames come next from the same shard (a
 * checksum to fill in: csumStart | csumOffset << 16; segmentation: gsoSize | gsoType << 16),
 * which a packet to transmit needs on the queue that sends it.
 */
export const DESC_OFFLOAD = 3;
/** The frame's L4 checksum was verified by the device. */
const FLAG_CSUM_VERIFIED = 1 << 16;
/** More frames of the same packet follow (a chain). */
const FLAG_MORE = 1 << 17;
/** A frame to transmit (from a proxy queue to the shard that owns the device queue), not received. */
const FLAG_TX = 1 << 18;

/** Seastar's limit on frames in flight from one shard to another. */
export const DEFAULT_MAX_IN_FLIGHT = 1000;

export interface ForwardCounters {
  /** Packets sent to other shards, and of them the ones copied first (not one whole shared frame). */
  forwarded: number;
  copied: number;
  /** Frames those took (a packet larger than a frame goes as a chain); each comes back as `freed`. */
  frames: number;
  /**
   * Frames received while this shard already held half of what the sender may lend it:
   * copied into this shard's own frames and given back at once, so frames a slow reader
   * or an out-of-order queue keeps never stop the sender (its in-flight limit).
   */
  copiedOnArrival: number;
  /** Frames received from other shards, and given back to them. */
  received: number;
  /** Packets other shards sent here to transmit (proxy queues). */
  toTransmit: number;
  freed: number;
  drops: {
    /** The destination already holds `maxInFlight` of this shard's frames. */
    inFlight: number;
    /** The ring to the destination was full. */
    ringFull: number;
    /** A copy was needed and no shared frame was free (or none large enough). */
    noFrame: number;
  };
}

/** Descriptors a mesh ring needs for `maxInFlight` frames each way and room to spare (a power of two). */
export function ringCapacityFor(maxInFlight: number): number {
  let capacity = 2;
  while (capacity < 2 * maxInFlight + 64) capacity *= 2;
  return capacity;
}

/** One shard's pools as the other shards see them: the shared memory and its slot size. */
export interface SharedPoolInfo {
  readonly buffer: SharedArrayBuffer;
  readonly slotSize: number;
}

/** What every shard shares of its pools, by shard then pool index. */
export function sharedPoolsOf(pools: readonly FramePool[]): SharedPoolInfo[] {
  return pools.map((p, i) => {
    if (!(p.buffer instanceof SharedArrayBuffer)) throw new TypeError(`pool ${i} is not in shared memory (FramePool { shared: true })`);
    return { buffer: p.buffer, slotSize: p.slotSize };
  });
}

/** The owner of a received frame: its release gives the frame back to the shard that sent it. Recycled. */
class ForeignFrame implements Owner {
  from = 0;
  word0 = 0;
  slot = 0;
  constructor(private readonly fwd: FrameForwarder) {}
  release(): void {
    this.fwd.giveBack(this);
  }
}

export class FrameForwarder {
  readonly counters: ForwardCounters = { forwarded: 0, copied: 0, frames: 0, copiedOnArrival: 0, received: 0, toTransmit: 0, freed: 0, drops: { inFlight: 0, ringFull: 0, noFrame: 0 } };
  /** Frames of this shard held by each other shard. */
  readonly inFlight: Int32Array;
  /** Frames of each other shard held here. */
  readonly held: Int32Array;
  /** Called when a frame is given back outside a loop pass (the loop must wake to publish it). */
  wake: (() => void) | null = null;
  /**
   * Descriptors of other kinds (messages between shards): an endpoint has one reader, so
   * the forwarder, when there is one, hands them on here rather than dropping them.
   */
  onOther: ((slots: Int32Array, at: number, from: number) => void) | null = null;
  /** Where forwarded frames go on this shard (the stack's receive path), in bursts. */
  onFrames: RxHandler | null = null;
  /** Where frames other shards want transmitted go (the owner of a device queue; proxy queues send them). */
  onTransmit: ((p: Packet) => void) | null = null;
  private readonly poolIndex = new Map<FramePool, number>();
  /** Other shards' pool bytes: remote[shard][pool]. */
  private readonly remote: Uint8Array[][];
  private readonly remoteSlot: number[][];
  private readonly spare: ForeignFrame[] = [];
  /**
   * Descriptors that found the ring full, five numbers each (to, four words): FREEs (cannot
   * happen with the sizes checked below) and control messages (`control`); kept, not lost.
   */
  private readonly pendingOut: number[] = [];
  private burst: Packet[] = [];
  /** The offload requests announced for the next packet from each shard (-1: none). */
  private readonly offloadCsum: Int32Array;
  private readonly offloadGso: Int32Array;
  /** A chain being received from each shard (its pieces so far). */
  private readonly chains: (Packet | null)[] = [];
  private spareBurst: Packet[] = [];
  private readonly onDescriptor = (s: Int32Array, at: number, from: number): void => this.take(s, at, from);

  constructor(
    private readonly mesh: MeshEndpoint,
    /** This shard's shared pools, in the order `sharedPoolsOf` gave the others. */
    private readonly own: readonly FramePool[],
    /** Every shard's `sharedPoolsOf` (this shard's entry is not used). */
    pools: readonly (readonly SharedPoolInfo[])[],
    capacity: number,
    private readonly maxInFlight = DEFAULT_MAX_IN_FLIGHT,
    private readonly burstSize = 64,
  ) {
    // Each ring carries this shard's frames one way and FREEs of the other's the same way.
    if (capacity < 2 * maxInFlight) throw new RangeError(`mesh rings of ${capacity} cannot hold ${maxInFlight} frames in flight each way (need ${2 * maxInFlight})`);
    own.forEach((p, i) => this.poolIndex.set(p, i));
    this.remote = pools.map((list) => list.map((p) => new Uint8Array(p.buffer)));
    this.remoteSlot = pools.map((list) => list.map((p) => p.slotSize));
    this.inFlight = new Int32Array(mesh.shards);
    this.held = new Int32Array(mesh.shards);
    this.offloadCsum = new Int32Array(mesh.shards).fill(-1);
    this.offloadGso = new Int32Array(mesh.shards);
  }

  /**
   * Sends `p` to shard `to`, which receives it through its `onFrames`; `p` is consumed
   * either way (moved, or released when dropped). False when dropped (counted).
   */
  forward(p: Packet, to: number, flags = 0): boolean {
    const c = this.counters;
    if (this.inFlight[to]! >= this.maxInFlight) {
      c.drops.inFlight++;
      p.release();
      return false;
    }
    const pool = p.soleFramePool;
    const index = pool === null ? undefined : this.poolIndex.get(pool);
    if (index !== undefined) {
      if ((p.csumStart >= 0 || p.gsoSize > 0) && !this.sendOffload(p, to)) {
        c.drops.ringFull++;
        p.release();
        return false;
      }
      return this.send(p, index, to, flags);
    }
    const chain = this.copyToShared(p);
    p.release();
    if (chain === null) {
      c.drops.noFrame++;
      return false;
    }
    c.copied++;
    const offload = chain[0]!.csumStart >= 0 || chain[0]!.gsoSize > 0;
    if (this.inFlight[to]! + chain.length > this.maxInFlight || !this.mesh.hasRoom(to, chain.length + (offload ? 1 : 0))) {
      if (this.inFlight[to]! + chain.length > this.maxInFlight) c.drops.inFlight++;
      else c.drops.ringFull++;
      for (const q of chain) q.release();
      return false;
    }
    if (offload) this.sendOffload(chain[0]!, to);
    for (let i = 0; i < chain.length; i++) {
      const q = chain[i]!;
      this.send(q, this.poolIndex.get(q.soleFramePool!)!, to, flags | (i < chain.length - 1 ? FLAG_MORE : 0));
    }
    return true;
  }

  /** The offload requests of `p` (DESC_OFFLOAD), ahead of its frames. */
  private sendOffload(p: Packet, to: number): boolean {
    return this.mesh.send(to, DESC_OFFLOAD, (p.csumStart & 0xffff) | (p.csumOffset << 16), (p.gsoSize & 0xffff) | (p.gsoType << 16), 0);
  }

  /** One whole frame of pool `index` to shard `to` (room checked by the caller for chains). */
  private send(p: Packet, index: number, to: number, flags: number): boolean {
    const word0 = DESC_FRAME | (index << 8) | flags | (p.csumVerified ? FLAG_CSUM_VERIFIED : 0);
    if (!this.mesh.send(to, word0, p.soleSlot, p.offs[0]!, p.length)) {
      this.counters.drops.ringFull++;
      p.release();
      return false;
    }
    p.disown();
    this.inFlight[to]!++;
    this.counters.frames++;
    if ((flags & FLAG_MORE) === 0) this.counters.forwarded++;
    return true;
  }

  /**
   * A control message to shard `to` on the same rings as the frames (its `onOther` gets
   * it): `kind` is a descriptor kind of its own (not DESC_*), the three words its content.
   * Never lost: a full ring keeps it until the next flush.
   */
  control(to: number, kind: number, a: number, b: number, c: number): void {
    if (kind === DESC_FRAME || kind === DESC_FREE || kind === DESC_OFFLOAD) throw new RangeError(`descriptor kind ${kind} is the forwarder's own`);
    if (this.pendingOut.length > 0 || !this.mesh.send(to, kind, a | 0, b | 0, c | 0)) this.pendingOut.push(to, kind, a | 0, b | 0, c | 0);
    this.wake?.();
  }

  /** Sends `p` to shard `to` to transmit on its device queue (a proxy queue's transmit); consumed either way. */
  transmitVia(p: Packet, to: number): boolean {
    return this.forward(p, to, FLAG_TX);
  }

  /** Sends a copy of `p` to shard `to` (a broadcast reaching every shard); `p` stays the caller's. */
  forwardCopy(p: Packet, to: number): boolean {
    if (this.inFlight[to]! >= this.maxInFlight) {
      this.counters.drops.inFlight++;
      return false;
    }
    const view = p.share();
    return this.forward(view, to);
  }

  /** Frames waiting from other shards. */
  get pending(): number {
    return this.mesh.pending;
  }

  /** Something written is not yet published (a flush is due). */
  get unflushed(): boolean {
    return this.mesh.unflushed || this.pendingOut.length > 0;
  }

  /**
   * `p`'s bytes in whole frames of this shard's own shared pools: one frame when one
   * holds it, else a chain from the pool with the largest frames; null when there are not
   * enough free beyond the receive rings' reserve.
   */
  private copyToShared(p: Packet): Packet[] | null {
    let best: FramePool | null = null;
    for (const pool of this.own) {
      if (pool.low) continue;
      if (pool.slotSize >= p.length) {
        const q = this.copyPiece(p, pool, 0, p.length);
        if (q !== null) return [q];
      }
      if (best === null || pool.slotSize > best.slotSize) best = pool;
    }
    if (best === null || p.length === 0) return null;
    const n = Math.ceil(p.length / best.slotSize);
    if (best.available - best.reserve < n) return null;
    const chain: Packet[] = [];
    for (let off = 0; off < p.length; off += best.slotSize) chain.push(this.copyPiece(p, best, off, Math.min(best.slotSize, p.length - off))!);
    return chain;
  }

  private copyPiece(p: Packet, pool: FramePool, from: number, len: number): Packet | null {
    const q = Packet.alloc(pool, 0);
    if (q === null) return null;
    p.copyTo(q.bufs[0]!, q.append(len), from, len);
    q.copyOffloadFrom(p);
    return q;
  }

  /**
   * Reads what the other shards sent (up to `max` descriptors): frames go to `onFrames`
   * in bursts, and frames given back return to this shard's pools. Returns how many.
   */
  receive(max = 256): number {
    const n = this.mesh.poll(max, this.onDescriptor);
    this.deliver();
    return n;
  }

  /** Publishes what was sent since the last flush (and any FREE that had to wait). */
  flush(): void {
    const pf = this.pendingOut;
    let k = 0;
    while (k < pf.length && this.mesh.send(pf[k]!, pf[k + 1]!, pf[k + 2]!, pf[k + 3]!, pf[k + 4]!)) k += 5;
    if (k > 0) pf.splice(0, k);
    this.mesh.flush();
  }

  private take(s: Int32Array, at: number, from: number): void {
    const w0 = s[at]!;
    const kind = w0 & 0xff;
    const index = (w0 >>> 8) & 0xff;
    if (kind === DESC_FREE) {
      const pool = this.own[index];
      // Only a frame that was out counts as back (a bad descriptor must not loosen the bound).
      if (pool !== undefined && pool.release(s[at + 1]!)) {
        this.inFlight[from]!--;
        this.counters.freed++;
      }
      return;
    }
    if (kind === DESC_OFFLOAD) {
      this.offloadCsum[from] = s[at + 1]!;
      this.offloadGso[from] = s[at + 2]!;
      return;
    }
    if (kind !== DESC_FRAME) {
      this.onOther?.(s, at, from);
      return;
    }
    const o = this.spare.pop() ?? new ForeignFrame(this);
    o.from = from;
    o.word0 = DESC_FREE | (index << 8);
    o.slot = s[at + 1]!;
    let p = Packet.wrap(this.remote[from]![index]!, s[at + 2]!, s[at + 3]!, o);
    p.truesize = this.remoteSlot[from]![index]!;
    p.csumVerified = (w0 & FLAG_CSUM_VERIFIED) !== 0;
    this.held[from]!++;
    // A chain: its pieces come in order from one sender; joined, they are one packet.
    const head = this.chains[from];
    if (head !== null && head !== undefined) {
      head.appendPacket(p);
      p = head;
      this.chains[from] = null;
    }
    if ((w0 & FLAG_MORE) !== 0) {
      this.chains[from] = p;
      return;
    }
    const csum = this.offloadCsum[from]!;
    if (csum !== -1) {
      // What the sender asked of its device: it goes with the packet.
      const gso = this.offloadGso[from]!;
      p.csumStart = (csum & 0xffff) === 0xffff ? -1 : csum & 0xffff;
      p.csumOffset = csum >>> 16;
      p.gsoSize = gso & 0xffff;
      p.gsoType = gso >>> 16;
      this.offloadCsum[from] = -1;
    }
    if ((w0 & FLAG_TX) !== 0) {
      this.counters.toTransmit++;
      if (this.onTransmit !== null) this.onTransmit(p);
      else p.release();
      return;
    }
    this.counters.received++;
    if (this.held[from]! >= this.maxInFlight >> 1 && p.fragmentCount === 1) {
      const copy = this.copyToShared(p);
      if (copy !== null && copy.length === 1) {
        p.release(); // back to its owner now
        p = copy[0]!;
        this.counters.copiedOnArrival++;
      } else if (copy !== null) {
        for (const q of copy) q.release();
      }
    }
    this.burst.push(p);
    if (this.burst.length >= this.burstSize) this.deliver();
  }

  private deliver(): void {
    const b = this.burst;
    const n = b.length;
    if (n === 0) return;
    // Handed over before the call: if the receiver throws, these are not delivered again.
    this.burst = this.spareBurst;
    this.spareBurst = b;
    if (this.onFrames !== null) this.onFrames(b, n);
    else for (let i = 0; i < n; i++) b[i]!.release();
    b.length = 0;
  }

  /** A received frame was released here: back to the shard that owns it. */
  giveBack(o: ForeignFrame): void {
    this.held[o.from]!--;
    if (!this.mesh.send(o.from, o.word0, o.slot, 0, 0)) this.pendingOut.push(o.from, o.word0, o.slot, 0, 0);
    this.spare.push(o);
    this.wake?.();
  }
}
