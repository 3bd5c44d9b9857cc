/**
 * A shard's queue: the device queue it owns, with receive steering in front of its
 * stack (Seastar's `interface::dispatch_packet`). Every frame the queue receives is
 * classified (steering.ts); the shard's own go up its stack in the burst they came in,
 * the others go to their shard over the mesh without a copy (forward.ts), and frames
 * other shards forwarded here join this shard's bursts. Transmit is the queue's own.
 *
 * ARP: every frame reaches every shard: a peer's request for us teaches each of them the
 * peer (RFC 826), a reply teaches the shard whose request it answers, which tells the
 * others (shard-host.ts); only shard 0 answers requests. Other broadcasts and multicasts
 * reach every shard too.
 */
import { Packet } from '../packet/packet.js';
import type { Queue, QueueStats, RxHandler, TxProvider } from '../link/device.js';
import type { FramePool } from '../packet/pool.js';
import { readU16, readU32, type MacAddress } from '../wire/addr.js';
import { emitEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../wire/ethernet.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { PacketRing } from '../packet/ring.js';
import type { FrameForwarder } from './forward.js';
import { PROXY_IN_FLIGHT } from './proxy-queue.js';
import { BROADCAST, type Steering } from './steering.js';

/** Bytes steering may read: Ethernet, IPv4 with options, and an ICMP error's quote. */
const HEADERS = 14 + 60 + 8 + 60 + 8;

/**
 * Seastar's "forward twice": the fragments of a datagram met on `shard`, the shard of
 * their 2-tuple; reassembled (`p`: IPv4 header first), it belongs to the shard its
 * 4-tuple steers to. True when it went there, in an Ethernet frame as if it had come
 * whole. A datagram to another address than `ours` (a broadcast: every shard
 * reassembles its own copy) stays. `scratch`: at least 64 bytes to read headers into.
 */
export function forwardReassembled(p: Packet, ours: number, mac: MacAddress, shard: number, steering: Steering, fwd: FrameForwarder, scratch: Uint8Array): boolean {
  const n = Math.min(p.length, 64);
  const b = scratch;
  p.copyTo(b, 0, 0, n);
  const ihl = (b[0]! & 0x0f) << 2;
  if (n < 20 || ihl < 20 || readU32(b, 16) !== ours) return false;
  const proto = b[9]!;
  const ports = (proto === IPPROTO_TCP || proto === IPPROTO_UDP) && n >= ihl + 4;
  const to = steering.shardOfDatagram(readU32(b, 12), ours, proto, ports ? readU16(b, ihl) : 0, ports ? readU16(b, ihl + 2) : 0);
  if (to === shard) return false;
  const frame = new Uint8Array(14);
  emitEthernet({ dst: mac, src: 0, ethertype: ETHERTYPE_IPV4 }, frame, 0);
  const eth = Packet.wrap(frame);
  eth.appendPacket(p);
  fwd.forward(eth, to);
  return true;
}

function releaseAll(burst: Packet[], count: number): void {
  for (let i = 0; i < count; i++) burst[i]!.release();
}

export interface ShardQueueCounters {
  /** Frames the queue received that were this shard's, and that went to another. */
  local: number;
  forwarded: number;
  /** Frames that reached every shard (copies sent to the others). */
  broadcast: number;
  /** Datagrams reassembled here that went to the shard of their 4-tuple ("forward twice"). */
  reassembledForwarded: number;
  /** Packets proxy shards sent through this queue, and those dropped because too many waited. */
  proxied: number;
  proxyDrops: number;
}

export class ShardQueue implements Queue {
  readonly counters: ShardQueueCounters = { local: 0, forwarded: 0, broadcast: 0, reassembledForwarded: 0, proxied: 0, proxyDrops: 0 };
  /** What proxy shards want sent on this queue (each has at most PROXY_IN_FLIGHT frames out). */
  private readonly fromProxies: PacketRing;
  private receiver: RxHandler = releaseAll;
  private local: Packet[] = [];
  private spareLocal: Packet[] = [];
  private readonly pools: readonly FramePool[];
  /** The front of a frame whose first fragment is short (a handed-off or merged frame). */
  private readonly head = new Uint8Array(HEADERS);

  constructor(
    readonly shard: number,
    private readonly inner: Queue,
    private readonly steering: Steering,
    private readonly fwd: FrameForwarder,
    /** More device queues this shard drives: their frames are steered the same; transmit is `inner`'s. */
    private readonly extra: readonly Queue[] = [],
  ) {
    const steer = (burst: Packet[], n: number): void => this.steer(burst, n);
    this.pools = [...new Set([inner, ...extra].flatMap((q) => q.rxPools))];
    inner.setReceiver(steer);
    for (const q of extra) q.setReceiver(steer);
    fwd.onFrames = (burst, n) => this.receiver(burst, n);
    this.fromProxies = new PacketRing(PROXY_IN_FLIGHT * steering.shards);
    fwd.onTransmit = (p) => {
      if (this.fromProxies.push(p)) this.counters.proxied++;
      else {
        this.counters.proxyDrops++;
        p.release();
      }
    };
    inner.addProvider(() => this.fromProxies.shift());
  }

  get id(): number {
    return this.inner.id;
  }

  get stats(): QueueStats {
    return this.inner.stats;
  }

  /** The pools of every device queue this shard drives (receive memory watches them all). */
  get rxPools(): readonly FramePool[] {
    return this.pools;
  }

  setReceiver(handler: RxHandler): void {
    this.receiver = handler;
  }

  addProvider(provider: TxProvider): void {
    this.inner.addProvider(provider);
  }

  removeProvider(provider: TxProvider): void {
    this.inner.removeProvider(provider);
  }

  /** Frames other shards forwarded, then the queue's own; what was forwarded from here goes out in one bundle per shard. */
  poll(now: number): number {
    let work = this.fwd.receive();
    work += this.inner.poll(now);
    for (let i = 0; i < this.extra.length; i++) work += this.extra[i]!.poll(now);
    this.fwd.flush();
    return work;
  }

  nextEventAt(): number {
    if (this.fwd.pending > 0 || this.fwd.unflushed) return 0;
    let t = this.inner.nextEventAt();
    for (let i = 0; i < this.extra.length; i++) t = Math.min(t, this.extra[i]!.nextEventAt());
    return t;
  }

  /** Seastar's "forward twice" for a datagram reassembled on this shard (see `forwardReassembled`). */
  takeReassembled(p: Packet, ours: number, mac: MacAddress): boolean {
    if (!forwardReassembled(p, ours, mac, this.shard, this.steering, this.fwd, this.head)) return false;
    this.counters.reassembledForwarded++;
    return true;
  }

  private steer(burst: Packet[], n: number): void {
    const local = this.local;
    const me = this.shard;
    const c = this.counters;
    for (let i = 0; i < n; i++) {
      const p = burst[i]!;
      let b = p.bufs[0]!;
      let off = p.offs[0]!;
      let len = p.lens[0]!;
      if (len < p.length && len < HEADERS) {
        // The headers may go on in the next fragment: read them from one copy.
        len = Math.min(p.length, HEADERS);
        p.copyTo(this.head, 0, 0, len);
        b = this.head;
        off = 0;
      }
      let to = this.steering.shardOfFrame(b, off, len, p.rssHash, p.length);
      if (to === 0 && len >= 14 && readU16(b, off + 12) === ETHERTYPE_ARP) to = BROADCAST;
      if (to === me) {
        c.local++;
        local.push(p);
      } else if (to === BROADCAST) {
        c.broadcast++;
        for (let s = 0; s < this.steering.shards; s++) if (s !== me) this.fwd.forwardCopy(p, s);
        local.push(p);
      } else {
        c.forwarded++;
        this.fwd.forward(p, to);
      }
    }
    const k = local.length;
    if (k > 0) {
      // Handed over before the call: if the stack throws, these are not delivered again.
      this.local = this.spareLocal;
      this.spareLocal = local;
      this.receiver(local, k);
      local.length = 0;
    }
  }
}
