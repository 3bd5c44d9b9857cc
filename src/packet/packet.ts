/**
 * A packet: an ordered list of fragments (views into buffers), with headroom in front
 * of the first fragment so lower layers prepend their headers without copying the
 * payload, and offload information for the link (DESIGN.md, src/packet).
 *
 * Fragments are kept as three parallel arrays (`bufs`, `offs`, `lens`): a fragment is
 * `bufs[i][offs[i] .. offs[i] + lens[i])`. A frame from a pool is a fragment over the
 * pool's one big `bytes` array, so no view object is made per frame.
 *
 * Memory is freed through one `Owner`. `share(offset, length)` makes a view that keeps
 * the memory alive; the owner's release fires once, when the last view is released.
 * A view, and any packet over memory it does not own alone, has no headroom: writing
 * in front of it would change what another view sees.
 */

import { combineOwners, SharedOwner, SlotOwner, type Owner } from './owner.js';
import type { FramePool } from './pool.js';

/** Default headroom: Ethernet (18 with a VLAN tag) + IPv4 (60) + TCP (60), rounded up. */
export const DEFAULT_HEADROOM = 160;

/** Generic segmentation offload types, numbered as virtio-net's `gso_type` (VIRTIO_NET_HDR_GSO_*). */
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_UDP = 3;
export const GSO_TCPV6 = 4;

const NO_BUFS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];
const NO_NUMBERS: number[] = Object.freeze([]) as unknown as number[];

/**
 * Fragment lists of released packets, emptied, for new packets to reuse: the lists are
 * most of what a packet allocates (an array that grows by a push reserves 17 slots).
 * A released packet itself keeps the frozen empty lists, so a use after release still
 * fails loudly and never touches lists that another packet now owns. Bounded.
 */
const SPARE_LIMIT = 4096;
const spareBufs: Uint8Array[][] = [];
const spareOffs: number[][] = [];
const spareLens: number[][] = [];

export class Packet {
  bufs: Uint8Array[];
  offs: number[];
  lens: number[];
  /** Total bytes in all fragments. */
  length = 0;
  /**
   * The memory this packet keeps alive (Linux's skb truesize): a pool slot's whole size
   * for each frame it holds, however few bytes of it are payload, and the bytes of
   * anything else. Trimming does not lower it (the frame stays held). What the stack
   * charges to a socket's receive budget (tcp/receive-memory.ts).
   */
  truesize = 0;
  /** What a holder charged for this packet when it took it, so it gives back that and not what truesize says later (zero-copy API). */
  charged = 0;
  /** Bytes before `offs[0]` in `bufs[0]` that this packet may write (prepend into). */
  headroom = 0;
  /** Bytes after the end of the last fragment that this packet may write (append into). */
  tailroom = 0;
  /** Where new header fragments come from when headroom runs out (optional). */
  pool: FramePool | null = null;
  private owner: Owner | null = null;
  /**
   * The pool frame this packet holds directly (most packets hold one frame and are never
   * shared): released with the packet, turned into an owner only when a view needs one.
   */
  private slotPool: FramePool | null = null;
  private slot = -1;
  private released = false;
  /** The bytes before fragment 0 are this packet's alone (its own frame, not a view). */
  private frontWritable = false;

  // Offload information (virtio-net header semantics, so TAP can pass it through).
  /**
   * L4 checksum still to compute: the sum starts at `csumStart` (from the packet's start,
   * kept right by prepend and trimFront)...
   */
  csumStart = -1;
  /** ... and is stored at `csumStart + csumOffset`. The field holds the pseudo-header sum. */
  csumOffset = 0;
  /** The L4 checksum was verified by the device (virtio DATA_VALID). */
  csumVerified = false;
  /** Segmentation offload: segment payload size (MSS), 0 for none. */
  gsoSize = 0;
  gsoType = GSO_NONE;
  /** Made of several wire frames (LRO) or fragments (IP reassembly). */
  reassembled = false;
  /** RSS hash the link computed, or -1. */
  rssHash = -1;
  /** Received as a link-layer broadcast or multicast (Linux's pkt_type): never answered with an ICMP error. */
  linkBroadcast = false;

  /**
   * An empty packet, or one whose first (empty) fragment starts at `off` in `buf`. The
   * lists are spare ones when there are (see SPARE_LIMIT), else literals of their size.
   */
  constructor(buf?: Uint8Array, off = 0) {
    if (spareBufs.length > 0) {
      this.bufs = spareBufs.pop()!;
      this.offs = spareOffs.pop()!;
      this.lens = spareLens.pop()!;
      if (buf !== undefined) {
        this.bufs.push(buf);
        this.offs.push(off);
        this.lens.push(0);
      }
    } else if (buf === undefined) {
      this.bufs = [];
      this.offs = [];
      this.lens = [];
    } else {
      this.bufs = [buf];
      this.offs = [off];
      this.lens = [0];
    }
  }

  /** An empty packet in a fresh pool frame, with `headroom` bytes before it; null when the pool is empty. */
  static alloc(pool: FramePool, headroom = DEFAULT_HEADROOM): Packet | null {
    const slot = pool.alloc();
    if (slot < 0) return null;
    const p = new Packet(pool.bytes, pool.offsetOf(slot) + headroom);
    p.headroom = headroom;
    p.tailroom = pool.slotSize - headroom;
    p.truesize = pool.slotSize;
    p.pool = pool;
    p.slotPool = pool;
    p.slot = slot;
    p.frontWritable = true;
    return p;
  }

  /** A packet over `bytes` without copying; `owner` (if any) is released with it. */
  static wrap(bytes: Uint8Array, off = 0, len = bytes.length - off, owner: Owner | null = null): Packet {
    if (off < 0 || len < 0 || off + len > bytes.length) throw new RangeError(`fragment [${off}, ${off + len}) outside a buffer of ${bytes.length}`);
    // One fragment, its lists made at their size (see the constructor).
    const p = len > 0 ? new Packet(bytes, off) : new Packet();
    if (len > 0) {
      p.lens[0] = len;
      p.length = len;
    }
    p.truesize = len;
    p.owner = owner;
    return p;
  }

  /** A packet holding a copy of `bytes` in a pool frame; null when the pool is empty or the frame too small. */
  static copyOf(pool: FramePool, bytes: Uint8Array, headroom = DEFAULT_HEADROOM): Packet | null {
    if (bytes.length + headroom > pool.slotSize) return null;
    const p = Packet.alloc(pool, headroom);
    if (p === null) return null;
    bytes.length > 0 && p.bufs[0]!.set(bytes, p.append(bytes.length));
    return p;
  }

  get fragmentCount(): number {
    return this.bufs.length;
  }

  get isReleased(): boolean {
    return this.released;
  }

  /**
   * The pool whose frame this packet alone holds as its one fragment (a frame from
   * `alloc`, not shared, no other owner), or null: what can move to another shard as it
   * is (`soleSlot`, `offs[0]`, `length`), without a copy.
   */
  get soleFramePool(): FramePool | null {
    const pool = this.slotPool;
    return pool !== null && this.owner === null && this.bufs.length === 1 && this.bufs[0] === pool.bytes ? pool : null;
  }

  /** The slot of that frame (valid when `soleFramePool` is not null). */
  get soleSlot(): number {
    return this.slot;
  }

  /** Lets go of everything without releasing it: its frame moved to another holder, who will release it. */
  disown(): void {
    if (this.released) return;
    this.released = true;
    this.forget(NO_BUFS, NO_NUMBERS, NO_NUMBERS);
  }

  /** Makes room for `n` bytes in front and returns their offset in `bufs[0]`. */
  prepend(n: number): number {
    if (this.csumStart >= 0) this.csumStart += n;
    if (n <= this.headroom && this.bufs.length > 0) {
      this.headroom -= n;
      this.offs[0] = this.offs[0]! - n;
      this.lens[0] = this.lens[0]! + n;
      this.length += n;
      return this.offs[0]!;
    }
    // A new header fragment, with headroom of its own for the layers below.
    let buf: Uint8Array;
    let start: number;
    let room: number;
    let owner: Owner | null = null;
    const slot = this.pool !== null && n <= this.pool.slotSize ? this.pool.alloc() : -1;
    if (slot >= 0) {
      buf = this.pool!.bytes;
      room = this.pool!.slotSize - n;
      start = this.pool!.offsetOf(slot) + room;
      owner = new SlotOwner(this.pool!, slot);
      this.truesize += this.pool!.slotSize;
    } else {
      room = DEFAULT_HEADROOM;
      buf = new Uint8Array(room + n);
      start = room;
      this.truesize += room + n;
    }
    if (this.bufs.length === 1 && this.lens[0] === 0) {
      // An empty packet: replace its only fragment.
      this.bufs.length = this.offs.length = this.lens.length = 0;
      this.tailroom = 0;
    }
    this.bufs.unshift(buf);
    this.offs.unshift(start);
    this.lens.unshift(n);
    if (this.bufs.length === 1) this.tailroom = 0;
    this.headroom = room;
    this.frontWritable = true;
    this.length += n;
    this.owner = combineOwners(owner, this.owner);
    return start;
  }

  /** Adds `n` bytes at the end of the last fragment (within tailroom) and returns their offset in it. */
  append(n: number): number {
    if (n > this.tailroom || this.bufs.length === 0) throw new RangeError(`no tailroom for ${n} bytes (have ${this.tailroom})`);
    const last = this.bufs.length - 1;
    const at = this.offs[last]! + this.lens[last]!;
    this.lens[last] = this.lens[last]! + n;
    this.tailroom -= n;
    this.length += n;
    return at;
  }

  /** Appends a fragment over `buf` (no copy); `owner` is released with the packet. */
  appendFragment(buf: Uint8Array, off: number, len: number, owner: Owner | null = null): void {
    if (off < 0 || len < 0 || off + len > buf.length) throw new RangeError(`fragment [${off}, ${off + len}) outside a buffer of ${buf.length}`);
    if (len > 0) {
      this.bufs.push(buf);
      this.offs.push(off);
      this.lens.push(len);
      this.length += len;
      this.truesize += len;
      this.tailroom = 0;
    }
    this.owner = combineOwners(this.owner, owner);
  }

  /** Turns the frame held directly into an owner (for a view, or a move to another packet). */
  private ownSlot(): void {
    if (this.slotPool === null) return;
    this.owner = combineOwners(new SlotOwner(this.slotPool, this.slot), this.owner);
    this.slotPool = null;
    this.slot = -1;
  }

  /** Moves all of `other`'s fragments and ownership to the end of this packet. */
  appendPacket(other: Packet): void {
    other.ownSlot();
    for (let i = 0; i < other.bufs.length; i++) {
      if (other.lens[i]! === 0) continue;
      this.bufs.push(other.bufs[i]!);
      this.offs.push(other.offs[i]!);
      this.lens.push(other.lens[i]!);
    }
    this.length += other.length;
    this.truesize += other.truesize;
    this.tailroom = 0;
    this.owner = combineOwners(this.owner, other.owner);
    // `other` is empty now and owns nothing (the frozen lists: appending to it is a bug).
    other.forget(NO_BUFS, NO_NUMBERS, NO_NUMBERS);
  }

  /** Drops `n` bytes from the front (all of them when `n` ≥ length). */
  trimFront(n: number): void {
    if (n <= 0 || this.bufs.length === 0) return;
    if (n > this.length) n = this.length;
    this.length -= n;
    if (this.csumStart >= 0) this.csumStart = this.csumStart >= n ? this.csumStart - n : -1;
    // Whole fragments go; the last one always stays (perhaps empty), keeping its room.
    let k = 0;
    while (k < this.bufs.length - 1 && n >= this.lens[k]!) n -= this.lens[k++]!;
    if (k > 0) {
      // Shifted down by hand: splice() would allocate an array of what it removes.
      const bufs = this.bufs;
      const offs = this.offs;
      const lens = this.lens;
      const m = bufs.length - k;
      for (let i = 0; i < m; i++) {
        bufs[i] = bufs[i + k]!;
        offs[i] = offs[i + k]!;
        lens[i] = lens[i + k]!;
      }
      // pop(), not `length =`: setting the length is a runtime call.
      for (let i = 0; i < k; i++) {
        bufs.pop();
        offs.pop();
        lens.pop();
      }
      this.frontWritable = false;
      this.headroom = 0;
    }
    this.offs[0] = this.offs[0]! + n;
    this.lens[0] = this.lens[0]! - n;
    if (this.frontWritable) this.headroom += n;
  }

  /** Drops `n` bytes from the end (all of them when `n` ≥ length). */
  trimBack(n: number): void {
    if (n <= 0) return;
    if (n >= this.length) n = this.length;
    this.length -= n;
    let last = this.bufs.length - 1;
    while (last > 0 && n >= this.lens[last]!) {
      n -= this.lens[last]!;
      last--;
    }
    if (last + 1 < this.bufs.length) {
      this.bufs.length = this.offs.length = this.lens.length = last + 1;
      this.tailroom = 0;
    }
    if (last >= 0) this.lens[last] = this.lens[last]! - n;
  }

  /**
   * Makes the first `len` bytes contiguous in `bufs[0]` and returns their offset there,
   * or -1 when the packet is shorter. Copies only when they cross a fragment boundary.
   */
  front(len: number): number {
    if (len > this.length) return -1;
    if (this.bufs.length > 0 && len <= this.lens[0]!) return this.offs[0]!;
    const merged = new Uint8Array(len);
    this.copyTo(merged, 0, 0, len);
    this.truesize += len;
    // Replace the fragments the merged bytes came from.
    let k = 0;
    let left = len;
    while (left > 0 && left >= this.lens[k]!) left -= this.lens[k++]!;
    if (left > 0) {
      this.offs[k] = this.offs[k]! + left;
      this.lens[k] = this.lens[k]! - left;
    }
    this.bufs.splice(0, k, merged);
    this.offs.splice(0, k, 0);
    this.lens.splice(0, k, len);
    this.headroom = 0;
    this.frontWritable = false;
    if (this.bufs.length === 1) this.tailroom = 0;
    return 0;
  }

  /** Copies `len` bytes from packet offset `from` into `dst` at `dstOff`. */
  copyTo(dst: Uint8Array, dstOff: number, from = 0, len = this.length - from): void {
    if (from < 0 || len < 0 || from + len > this.length) throw new RangeError(`copy of [${from}, ${from + len}) from a packet of ${this.length}`);
    for (let i = 0; i < this.bufs.length && len > 0; i++) {
      const fl = this.lens[i]!;
      if (from >= fl) {
        from -= fl;
        continue;
      }
      const n = Math.min(fl - from, len);
      const o = this.offs[i]! + from;
      const src = this.bufs[i]!;
      // Small pieces (headers, short requests) byte by byte: a subarray view costs more.
      if (n <= 64) for (let k = 0; k < n; k++) dst[dstOff + k] = src[o + k]!;
      else dst.set(src.subarray(o, o + n), dstOff);
      dstOff += n;
      len -= n;
      from = 0;
    }
  }

  /** The byte at packet offset `at` (not for hot loops). */
  byteAt(at: number): number {
    for (let i = 0; i < this.bufs.length; i++) {
      if (at < this.lens[i]!) return this.bufs[i]![this.offs[i]! + at]!;
      at -= this.lens[i]!;
    }
    throw new RangeError(`offset ${at} past the end of the packet`);
  }

  /** A copy of the whole packet as one array (tests, captures: not the hot path). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    this.copyTo(out, 0);
    return out;
  }

  /**
   * A view of `len` bytes from `offset` that keeps this packet's memory alive. The
   * memory is released when this packet and every view of it have been released.
   */
  share(offset = 0, len = this.length - offset): Packet {
    const view = new Packet();
    view.appendShared(this, offset, len);
    view.rssHash = this.rssHash;
    return view;
  }

  /**
   * Appends a view of `len` bytes of `src` from `offset`: what appendPacket(src.share(
   * offset, len)) does, without the packet in between (a TCP segment takes its payload
   * from the send buffer this way, once per segment).
   */
  appendShared(src: Packet, offset: number, len: number): void {
    if (src.released) throw new Error('share() of a released packet');
    if (offset < 0 || len < 0 || offset + len > src.length) throw new RangeError(`share of [${offset}, ${offset + len}) from a packet of ${src.length}`);
    src.ownSlot();
    if (src.owner !== null && !(src.owner instanceof SharedOwner)) src.owner = new SharedOwner(src.owner);
    // Whatever the owner, the memory is now seen by a view: no more writing around it.
    src.headroom = 0;
    src.tailroom = 0;
    src.frontWritable = false;
    let from = offset;
    let left = len;
    for (let i = 0; i < src.bufs.length && left > 0; i++) {
      const fl = src.lens[i]!;
      if (from >= fl) {
        from -= fl;
        continue;
      }
      const n = fl - from < left ? fl - from : left;
      this.bufs.push(src.bufs[i]!);
      this.offs.push(src.offs[i]! + from);
      this.lens.push(n);
      left -= n;
      from = 0;
    }
    this.length += len;
    // A view is charged what it shows: the memory behind it is charged to its holder.
    this.truesize += len;
    if (len > 0) this.tailroom = 0;
    if (src.owner !== null) this.owner = combineOwners(this.owner, (src.owner as SharedOwner).retain());
  }


  /** Copies the offload information (not the data) from another packet. */
  copyOffloadFrom(p: Packet): void {
    this.csumStart = p.csumStart;
    this.csumOffset = p.csumOffset;
    this.csumVerified = p.csumVerified;
    this.gsoSize = p.gsoSize;
    this.gsoType = p.gsoType;
    this.reassembled = p.reassembled;
    this.rssHash = p.rssHash;
  }

  /** Frees this packet's hold on its memory; a second release does nothing. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const owner = this.owner;
    const pool = this.slotPool;
    const slot = this.slot;
    // A released packet holds nothing: shared empty (frozen) lists, so that letting go
    // costs no allocation and a use after release fails loudly instead of corrupting.
    this.forget(NO_BUFS, NO_NUMBERS, NO_NUMBERS);
    owner?.release();
    pool?.release(slot);
  }

  /** Drops the fragments and ownership without releasing (they moved elsewhere). */
  private forget(bufs: Uint8Array[], offs: number[], lens: number[]): void {
    const old = this.bufs;
    if (old !== NO_BUFS && spareBufs.length < SPARE_LIMIT) {
      const o = this.offs;
      const l = this.lens;
      while (old.length > 0) {
        old.pop();
        o.pop();
        l.pop();
      }
      spareBufs.push(old);
      spareOffs.push(o);
      spareLens.push(l);
    }
    this.owner = null;
    this.slotPool = null;
    this.slot = -1;
    this.bufs = bufs;
    this.offs = offs;
    this.lens = lens;
    this.length = 0;
    this.truesize = 0;
    this.headroom = 0;
    this.tailroom = 0;
    this.frontWritable = false;
  }
}
