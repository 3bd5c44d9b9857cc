/**
 * An emulated NIC on an in-process medium (a `MemoryWire` or a `MemorySwitch` port).
 *
 * Transmit: each queue pulls packets from the stack and hands them to the device,
 * which checks them against its features (MTU, offloads) and puts them on the medium
 * without copying. Receive: the medium hands a frame to the receiving device, which
 * picks a queue by RSS, copies the frame into a slot of its own frame pool (the one
 * copy per frame, as a NIC DMAs into its RX buffers), does the offload work in that
 * copy (finishes checksums, cuts TSO super-frames, verifies TCP/UDP checksums) and
 * queues it on the RX ring. The sender's memory is never written (but see handoff).
 *
 * Between two offload-capable ends on a path that changes no frame, it behaves as
 * veth or virtio-net do: a partial checksum is passed on unfinished (the receiver gets
 * csumStart/csumOffset and csumVerified), and a TSO super-frame reaches a receiver
 * with LRO whole, as one packet (the fast path: no segmentation, no checksum pass).
 * On such a path a frame that only one receiver sees is handed over itself, as veth
 * passes an skb (`receiveByHandoff`): no receive buffer and no copy, ownership moves
 * with it; it is copied after all while the sender's pool is more than half in use.
 */

import { GSO_TCPV4, Packet } from '../../packet/packet.js';
import { FramePool } from '../../packet/pool.js';
import { writeU16 } from '../../wire/addr.js';
import type { MacAddress } from '../../wire/addr.js';
import { DEFAULT_RSS_KEY, type ToeplitzHasher } from '../../wire/toeplitz.js';
import { evenRssTable, sumQueueStats, RSS_TABLE_SIZE, type Device, type DeviceFeatures, type QueueStats } from '../device.js';
import { Frame, FRAME_MALFORMED, FRAME_OK, FRAME_OVERSIZE, type TxSegmentCounters } from './frame.js';
import { IPPROTO_UDP as PROTO_UDP } from '../../wire/ipv4.js';
import { LroMerger } from './merge.js';
import { CSUM_BAD, CSUM_GOOD, finishPartial, ipv4HeaderOk, verifyL4, writeIpv4Checksum } from './offload.js';
import { MemoryQueue, type QueueOwner } from './queue.js';
import { TCP_CSUM_OFFSET, writeSegment } from './segment.js';
import { hasherFor, rssHashOf } from './steer.js';

export interface MemoryDeviceOptions {
  name?: string;
  mac: MacAddress;
  /** Largest IP packet (default 1500). */
  mtu?: number;
  /** Queue pairs (default 1). */
  queues?: number;
  rxCsumIp?: boolean;
  rxCsumL4?: boolean;
  txCsumIp?: boolean;
  txCsumL4?: boolean;
  tso?: boolean;
  /** Largest IP packet the stack may hand over with `gsoSize` set (default 65535). */
  maxTsoSize?: number;
  lro?: boolean;
  rssKey?: Uint8Array;
  /** 128 queue numbers (default: spread evenly over the queues). */
  rssTable?: Uint8Array;
  /** Frames per TX ring (default 256) and RX ring (default 1024). */
  txRing?: number;
  rxRing?: number;
  /** Most packets a queue transmits, and hands to its receiver, per poll (default 64). */
  burst?: number;
  /** Frames in the receive pool (default: twice the RX rings, plus 1024 for packets the stack holds). */
  rxPoolSlots?: number;
  /** 64 KB frames for super-frames received whole (default 64 with LRO, else 0). */
  rxLargeSlots?: number;
  /** Receive pools in shared memory, so shards can hand their frames to each other (default false). */
  sharedPools?: boolean;
}

/** What the device counts beyond the per-queue stats (each drop is also in a queue's txDrops/rxDrops). */
export interface MemoryDeviceCounters extends TxSegmentCounters {
  /** Frames longer than MTU + Ethernet header without GSO. */
  txOversize: number;
  /** Offload requests that do not fit the frame (GSO on non-TCP, csumStart outside the frame, a runt). */
  txMalformed: number;
  /** Offloads the device does not have (tx checksum, TSO). */
  txUnsupported: number;
  /** Nothing attached: frames sent while unplugged. */
  txNoCarrier: number;
  /** Frames longer than our MTU (a sender with a larger MTU), dropped as a NIC's length check does. */
  rxOversize: number;
  rxRingFull: number;
  /** The receive pool was empty. */
  rxNoBuffer: number;
  /** No receiver set: frames dropped as by an interface that is down. */
  rxNoReceiver: number;
  /** Checksums found wrong (the frame is delivered, not marked verified). */
  rxCsumErrors: number;
  /** Super-frames received whole (the fast path). */
  rxSuperFrames: number;
  /** Frames received as the sender's own packet (no copy; see receiveByHandoff). */
  rxHandoffs: number;
}

/** The medium side of a device: where its frames go. */
export interface MemoryAttachment {
  /** Takes the frame (one reference); returns how many frames it becomes on the receiving side (its cost). */
  send(f: Frame, now: number): number;
}

/** Receive frames leave this much room in front (Linux NET_SKB_PAD), e.g. for a VLAN tag. */
export const RX_HEADROOM = 64;
const MAX_FRAME = 65535 + 18;

let deviceCount = 0;

export class MemoryDevice implements Device, QueueOwner {
  readonly name: string;
  readonly mac: MacAddress;
  readonly features: DeviceFeatures;
  readonly queues: readonly MemoryQueue[];
  /** Receive frames (MTU-sized) and, with LRO, 64 KB frames for super-frames. */
  readonly pool: FramePool;
  readonly largePool: FramePool | null;
  readonly counters: MemoryDeviceCounters = {
    txOversize: 0, txMalformed: 0, txUnsupported: 0, txNoCarrier: 0, tsoFrames: 0, tsoSegments: 0,
    rxOversize: 0, rxRingFull: 0, rxNoBuffer: 0, rxNoReceiver: 0, rxCsumErrors: 0, rxSuperFrames: 0, rxHandoffs: 0,
  };
  private readonly hasher: ToeplitzHasher;
  private attachment: MemoryAttachment | null = null;
  private readonly spareFrames: Frame[] = [];

  constructor(options: MemoryDeviceOptions) {
    const queues = options.queues ?? 1;
    const mtu = options.mtu ?? 1500;
    const lro = options.lro ?? true;
    const txRing = options.txRing ?? 256;
    const rxRing = options.rxRing ?? 1024;
    const burst = options.burst ?? 64;
    const maxTsoSize = options.maxTsoSize ?? 65535;
    checkInt('queues', queues, 1, 255);
    checkInt('mtu', mtu, 68, 65535);
    checkInt('maxTsoSize', maxTsoSize, mtu, 65535);
    checkInt('txRing', txRing, 1, 1 << 20);
    checkInt('rxRing', rxRing, 1, 1 << 20);
    checkInt('burst', burst, 1, 1 << 16);
    const table = options.rssTable ?? evenRssTable(queues);
    if (table.length !== RSS_TABLE_SIZE || table.some((q) => q >= queues)) {
      throw new RangeError(`rssTable must have ${RSS_TABLE_SIZE} entries, each below the ${queues} queues`);
    }
    const key = options.rssKey ?? DEFAULT_RSS_KEY;
    this.hasher = hasherFor(key);
    this.name = options.name ?? `mem${deviceCount++}`;
    this.mac = options.mac;
    this.features = {
      mtu,
      rxCsumIp: options.rxCsumIp ?? true,
      rxCsumL4: options.rxCsumL4 ?? true,
      txCsumIp: options.txCsumIp ?? true,
      txCsumL4: options.txCsumL4 ?? true,
      tso: options.tso ?? true,
      maxTsoSize,
      lro,
      rss: { key, table },
    };
    const slots = options.rxPoolSlots ?? queues * rxRing * 2 + 1024;
    const shared = options.sharedPools ?? false;
    this.pool = new FramePool({ slotSize: Math.max(2048, roundUp(mtu + 18 + RX_HEADROOM, 64)), slots, shared });
    const large = options.rxLargeSlots ?? (lro ? 64 : 0);
    this.largePool = lro && large > 0 ? new FramePool({ slotSize: roundUp(MAX_FRAME + RX_HEADROOM, 64), slots: large, shared }) : null;
    // What the rings need to fill up (at most half the pool): the stack keeps frames only beyond it.
    this.pool.reserve = Math.min(queues * rxRing, slots >> 1);
    if (this.largePool !== null) this.largePool.reserve = large >> 2;
    const rxPools = this.largePool !== null ? [this.pool, this.largePool] : [this.pool];
    const qs: MemoryQueue[] = [];
    for (let i = 0; i < queues; i++) qs.push(new MemoryQueue(i, this, txRing, rxRing, burst, lro ? new LroMerger() : null, rxPools));
    this.queues = qs;
  }

  /** Plugs the device into a medium (used by MemoryWire and MemorySwitch). */
  connect(attachment: MemoryAttachment): void {
    if (this.attachment !== null) throw new Error(`${this.name} is already connected`);
    this.attachment = attachment;
  }

  disconnect(): void {
    this.attachment = null;
  }

  get connected(): boolean {
    return this.attachment !== null;
  }

  /** The queues' stats added up. */
  totals(): QueueStats {
    return sumQueueStats(this.queues);
  }

  /** A super-frame reaches this device whole (else it arrives as its segments). */
  get takesSuperFrames(): boolean {
    return this.features.lro && this.features.rxCsumL4 && this.largePool !== null;
  }

  /** Frames a medium hands over per poll: one queue's burst (RSS may steer them all to one queue). */
  get intake(): number {
    return this.queues[0]!.burst;
  }

  /**
   * Called by a queue with a packet it pulled: checks it and puts it on the medium.
   * Returns its cost in wire frames (a super-frame that will be segmented costs its
   * segments), so a queue's burst paces what lands on the other side.
   */
  transmit(pkt: Packet, queue: MemoryQueue, now: number): number {
    const c = this.counters;
    const att = this.attachment;
    if (att === null) {
      c.txNoCarrier++;
      queue.stats.txDrops++;
      pkt.release();
      return 1;
    }
    const f = Frame.take(this.spareFrames, pkt, c);
    const err = f.parse(this.features, this.features.txCsumIp);
    if (err !== FRAME_OK) {
      if (err === FRAME_OVERSIZE) c.txOversize++;
      else if (err === FRAME_MALFORMED) c.txMalformed++;
      else c.txUnsupported++;
      queue.stats.txDrops++;
      pkt.release();
      return 1;
    }
    queue.stats.txFrames++;
    queue.stats.txBytes += f.length;
    return att.send(f, now);
  }

  /**
   * The medium delivers frame `f` (segment `seg` of it, or all of it when -1). `clean`:
   * the path alters no frame (no per-frame faults), so offloads may pass through.
   * `corruptAt` ≥ 0: XOR that byte of our copy with `mask`. The caller keeps its reference.
   */
  receive(f: Frame, seg: number, corruptAt: number, mask: number, clean: boolean): void {
    const hash = rssHashOf(f, this.hasher);
    const q = this.queues[hash < 0 ? 0 : this.features.rss.table[hash & (RSS_TABLE_SIZE - 1)]!]!;
    const passL4 = clean && this.features.rxCsumL4;
    if (q.receiver === null) {
      const n = f.superFrame && seg < 0 ? f.segments : 1;
      this.counters.rxNoReceiver += n;
      q.stats.rxDrops += n;
      return;
    }
    if (seg >= 0) {
      this.receiveSegment(f, seg, q, hash, corruptAt, mask, passL4);
    } else if (!f.superFrame) {
      this.receiveFrame(f, q, hash, corruptAt, mask, passL4);
    } else if (!(passL4 && this.features.lro && this.receiveSuperFrame(f, q, hash))) {
      // Segment on the way in: the receiver cannot take it whole.
      f.tx.tsoFrames++;
      f.tx.tsoSegments += f.segments;
      for (let i = 0; i < f.segments; i++) this.receiveSegment(f, i, q, hash, -1, 0, passL4);
    }
  }

  /** A slot for `len` bytes on queue `q`'s ring, or null (counted). */
  private slot(q: MemoryQueue, pool: FramePool): Packet | null {
    if (q.rx.full) {
      this.counters.rxRingFull++;
      q.stats.rxDrops++;
      return null;
    }
    const p = Packet.alloc(pool, RX_HEADROOM);
    if (p === null) {
      this.counters.rxNoBuffer++;
      q.stats.rxDrops++;
    }
    return p;
  }

  /** A receive frame of `len` bytes (its bytes to be written at `offs[0]`), or null: too long for our MTU, or no buffer (counted). */
  private wireFrame(q: MemoryQueue, len: number, ethLen: number): Packet | null {
    if (len > this.features.mtu + ethLen) {
      this.counters.rxOversize++;
      q.stats.rxDrops++;
      return null;
    }
    const p = this.slot(q, this.pool);
    p?.append(len);
    return p;
  }

  private receiveFrame(f: Frame, q: MemoryQueue, hash: number, corruptAt: number, mask: number, passL4: boolean): void {
    if (passL4 && corruptAt < 0 && this.receiveByHandoff(f, q, hash)) return;
    const len = f.length;
    const p = this.wireFrame(q, len, f.ethLen);
    if (p === null) return;
    const b = p.bufs[0]!;
    const at = p.offs[0]!;
    f.pkt.copyTo(b, at);
    if (f.finishIp) writeIpv4Checksum(b, at + f.ipOff, f.ipHl);
    let trusted = false;
    if (f.csumStart >= 0) {
      if (passL4 && f.csumStart === f.l4Off) {
        p.csumStart = f.csumStart;
        p.csumOffset = f.csumOffset;
      } else {
        finishPartial(b, at, len, f.csumStart, f.csumOffset, f.proto === PROTO_UDP);
      }
      trusted = f.csumStart === f.l4Off;
    }
    this.finishRx(p, b, at, len, f, q, hash, trusted, corruptAt, mask);
  }

  /**
   * The sender's packet itself, as veth hands over an skb: no receive buffer, no copy.
   * Only for a frame nobody else sees (one reference, no fault to apply), whose
   * checksum is partial at its L4 header or absent, and while the sender's pool has
   * more than half its frames free (the receiver may hold what it takes for a while:
   * a sender must not run dry because of it).
   */
  private receiveByHandoff(f: Frame, q: MemoryQueue, hash: number): boolean {
    const p = f.pkt;
    const pool = p.pool;
    if (f.refs !== 1 || q.rx.full || pool === null || pool.available * 2 < pool.slotCount) return false;
    if (f.csumStart >= 0 && f.csumStart !== f.l4Off) return false;
    // A checksum to verify here is summed over one contiguous frame (finishRx).
    if (f.csumStart < 0 && p.fragmentCount > 1) return false;
    if (f.length > this.features.mtu + f.ethLen) return false;
    f.handOff();
    const b = p.bufs[0]!;
    const at = p.offs[0]!;
    if (f.finishIp) writeIpv4Checksum(b, at + f.ipOff, f.ipHl);
    p.gsoSize = 0;
    p.gsoType = 0;
    this.counters.rxHandoffs++;
    this.finishRx(p, b, at, f.length, f, q, hash, f.csumStart >= 0, -1, 0);
    return true;
  }

  /** The fast path: the super-frame whole, its checksum left partial. False when no large frame is free. */
  private receiveSuperFrame(f: Frame, q: MemoryQueue, hash: number): boolean {
    const pool = this.largePool;
    if (pool === null || q.rx.full || f.length + RX_HEADROOM > pool.slotSize) return false;
    const p = Packet.alloc(pool, RX_HEADROOM);
    if (p === null) return false;
    const b = p.bufs[0]!;
    const len = f.length;
    const at = p.append(len);
    f.pkt.copyTo(b, at);
    if (f.finishIp) {
      writeU16(b, at + f.ipOff + 2, len - f.ethLen);
      writeIpv4Checksum(b, at + f.ipOff, f.ipHl);
    }
    p.csumStart = f.l4Off;
    p.csumOffset = TCP_CSUM_OFFSET;
    p.gsoSize = f.mss;
    p.gsoType = GSO_TCPV4;
    p.reassembled = true;
    this.counters.rxSuperFrames++;
    this.finishRx(p, b, at, len, f, q, hash, true, -1, 0);
    return true;
  }

  private receiveSegment(f: Frame, i: number, q: MemoryQueue, hash: number, corruptAt: number, mask: number, passL4: boolean): void {
    const len = f.segmentLength(i);
    const p = this.wireFrame(q, len, f.ethLen);
    if (p === null) return;
    const b = p.bufs[0]!;
    const at = p.offs[0]!;
    writeSegment(f, i, b, at, !passL4);
    if (passL4) {
      p.csumStart = f.l4Off;
      p.csumOffset = TCP_CSUM_OFFSET;
    }
    this.finishRx(p, b, at, len, f, q, hash, true, corruptAt, mask);
  }

  /**
   * Corruption (in our copy only), receive checksum offload, RSS hash, RX ring.
   * `trusted`: the L4 checksum was just computed here (or is passed on partial).
   */
  private finishRx(p: Packet, b: Uint8Array, at: number, len: number, f: Frame, q: MemoryQueue, hash: number, trusted: boolean, corruptAt: number, mask: number): void {
    if (corruptAt >= 0) b[at + corruptAt]! ^= mask;
    const feat = this.features;
    if (feat.rxCsumL4) {
      if (trusted && corruptAt < 0) {
        // A header checksum this device has just filled in (finishIp) needs no second pass.
        p.csumVerified = !feat.rxCsumIp || f.finishIp || ipv4HeaderOk(b, at + f.ipOff, f.ipHl);
        if (!p.csumVerified) this.counters.rxCsumErrors++;
      } else {
        const r = verifyL4(b, at, len, feat.rxCsumIp);
        p.csumVerified = r === CSUM_GOOD;
        if (r === CSUM_BAD) this.counters.rxCsumErrors++;
      }
    }
    p.rssHash = hash;
    q.arrive(p);
  }
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
}
