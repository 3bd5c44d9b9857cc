/**
 * A Linux TAP device as a Shoal link: `/dev/net/tun` opened with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR (and IFF_MULTI_QUEUE for more than one queue: one fd per queue), a
 * 12-byte virtio_net_hdr on every frame, and the offloads TUNSETOFFLOAD accepted
 * (Documentation/networking/tuntap.rst, include/uapi/linux/if_tun.h).
 *
 * The kernel side of the TAP is the interface itself (give it an address there, e.g.
 * in a network namespace); Shoal is the other end of the wire. With offloads, the kernel
 * hands over TCP super-frames of up to 64 KB with partial checksums (our LRO) and takes
 * ours (our TSO and checksum offload), which is what makes the TAP path fast.
 *
 * `TapDevice.open()` loads the native addon then; without it, it throws one line that
 * says why, and nothing else in Shoal needs the addon.
 */

import { closeSync } from 'node:fs';
import { FramePool } from '../../packet/pool.js';
import type { MacAddress } from '../../wire/addr.js';
import { DEFAULT_RSS_KEY } from '../../wire/toeplitz.js';
import { evenRssTable, sumQueueStats, type Device, type DeviceFeatures, type QueueStats } from '../device.js';
import type { EventLoop } from '../../time/loop.js';
import { tapOpenError, TapError } from './errors.js';
import { loadTapAddon, type TapAddon } from './native.js';
import { TapQueue, type TapQueueCounters } from './queue.js';
import { TAP_RX_HEADROOM } from './rx.js';

export interface TapDeviceOptions {
  /** The interface name (at most 15 bytes; default: the kernel picks tapN). An existing TAP of that name is attached to. */
  name?: string;
  /** Shoal's MAC address (default: a random locally administered one). */
  mac?: MacAddress;
  /** Largest IP packet; set the kernel side's MTU to the same (default 1500). */
  mtu?: number;
  /** Queues, one fd each (default 1; more use IFF_MULTI_QUEUE). */
  queues?: number;
  /** Ask the kernel for checksum and TSO offloads (TUNSETOFFLOAD; default true). */
  offloads?: boolean;
  /** Frames per native call, each way (default 64). */
  burst?: number;
  /** MTU-sized receive frames per queue (default 4096). */
  rxPoolSlots?: number;
  /** 64 KB receive frames per queue for the kernel's GSO frames (default burst + 128; with offloads only). */
  rxLargeSlots?: number;
  /** The clone device (default /dev/net/tun). */
  tunPath?: string;
  /** Receive pools in shared memory, so shards can hand their frames to each other (default false). */
  sharedPools?: boolean;
}

/**
 * A TAP's queues opened but not yet driven: the fds (one per queue, IFF_MULTI_QUEUE
 * with more than one), the offloads the kernel took, and the MAC Shoal will use. Made on
 * one thread (`TapDevice.openQueues`), it can be handed to others (numbers only): each
 * shard builds a device of its own queue with `TapDevice.fromQueues` and closes its fd.
 */
export interface TapQueues {
  name: string;
  fds: number[];
  offloadFlags: number;
  mac: MacAddress;
}

/** TUNSETOFFLOAD sets to try, largest first: the kernel refuses a set with a bit it does not know (EINVAL). */
function offloadCandidates(f: TapAddon['offloadFlags']): number[] {
  return [f.CSUM | f.TSO4 | f.TSO6, f.CSUM | f.TSO4, f.CSUM, 0];
}

/** The largest frame (Ethernet header with a VLAN tag, IP packet of 65,535) plus one byte: reads that fill the buffers were cut. */
const MAX_FRAME = 18 + 65535 + 1;
const LARGE_SLOT = 65536;

export class TapDevice implements Device {
  readonly name: string;
  readonly mac: MacAddress;
  readonly features: DeviceFeatures;
  readonly queues: readonly TapQueue[];
  /** The TUN_F_* bits TUNSETOFFLOAD accepted. */
  readonly offloadFlags: number;
  private readonly loops: EventLoop[] = [];
  private closed = false;

  private constructor(name: string, mac: MacAddress, features: DeviceFeatures, queues: TapQueue[], offloadFlags: number) {
    this.name = name;
    this.mac = mac;
    this.features = features;
    this.queues = queues;
    this.offloadFlags = offloadFlags;
  }

  /** Opens (or creates) the TAP device; throws a TapError of one line when it cannot. */
  static open(options: TapDeviceOptions = {}): TapDevice {
    return TapDevice.fromQueues(TapDevice.openQueues(options), options);
  }

  /**
   * Opens (or creates) the TAP's `queues` fds and agrees on the offloads, without driving
   * them; throws a TapError of one line when it cannot (nothing is left open then).
   */
  static openQueues(options: TapDeviceOptions = {}): TapQueues {
    const queues = options.queues ?? 1;
    checkInt('queues', queues, 1, 255);
    const path = options.tunPath ?? '/dev/net/tun';
    let name = options.name ?? '';
    if (Buffer.byteLength(name) > 15) throw new RangeError(`interface names are at most 15 bytes: ${JSON.stringify(name)}`);
    const addon = loadTapAddon();
    const fds: number[] = [];
    let offloadFlags = 0;
    try {
      for (let i = 0; i < queues; i++) {
        const r = addon.openTap(path, name, queues > 1);
        fds.push(r.fd);
        name = r.name;
      }
      offloadFlags = negotiateOffloads(addon, fds[0]!, options.offloads ?? true);
    } catch (e) {
      for (const fd of fds) closeSync(fd);
      throw tapOpenError(e, name, path);
    }
    return { name, fds, offloadFlags, mac: options.mac ?? randomMac() };
  }

  /**
   * The device of queues `q` opened (on this thread or another): its fds are the
   * device's from now on, closed with it (also when this throws). `firstId`: the id of its
   * first queue (a shard driving queue i of a multi-queue TAP says i).
   */
  static fromQueues(q: TapQueues, options: Omit<TapDeviceOptions, 'name' | 'queues' | 'mac' | 'tunPath'> = {}, firstId = 0): TapDevice {
    const qs: TapQueue[] = [];
    try {
      return TapDevice.build(q, options, firstId, qs);
    } catch (e) {
      for (const x of qs) x.close();
      // A queue that failed after taking its fd has closed it already.
      const taken = qs.length + ((e as { fdClosed?: boolean } | null)?.fdClosed === true ? 1 : 0);
      for (let i = taken; i < q.fds.length; i++) closeSync(q.fds[i]!);
      throw e;
    }
  }

  /** `fromQueues` without the clean-up: the queues it makes go into `qs` as they are made. */
  private static build(q: TapQueues, options: Omit<TapDeviceOptions, 'name' | 'queues' | 'mac' | 'tunPath'>, firstId: number, qs: TapQueue[]): TapDevice {
    const mtu = options.mtu ?? 1500;
    const burst = options.burst ?? 64;
    checkInt('mtu', mtu, 68, 65535 - 18);
    checkInt('burst', burst, 1, 1024);
    const addon = loadTapAddon();
    const offloadFlags = q.offloadFlags;
    const f = addon.offloadFlags;
    const csum = (offloadFlags & f.CSUM) !== 0;
    const lro = csum && (offloadFlags & f.TSO4) !== 0;
    // Sent frames: tun takes NEEDS_CSUM and GSO from any writer of vnet headers
    // (virtio_net_hdr_to_skb); TUNSETOFFLOAD only says what the kernel may send us.
    const txOffloads = options.offloads ?? true;
    const features: DeviceFeatures = {
      mtu,
      // IPv4 header checksums: the kernel checks them on what we send (ip_rcv) and never
      // leaves them to us, and virtio has no flag for them.
      rxCsumIp: false,
      txCsumIp: false,
      rxCsumL4: csum,
      txCsumL4: txOffloads,
      tso: txOffloads,
      maxTsoSize: 65535,
      lro,
      rss: { key: DEFAULT_RSS_KEY, table: evenRssTable(q.fds.length) },
    };
    const slotSize = Math.max(2048, roundUp(mtu + 18 + TAP_RX_HEADROOM + 1, 64));
    const shared = options.sharedPools ?? false;
    for (let i = 0; i < q.fds.length; i++) {
      const pool = new FramePool({ slotSize, slots: options.rxPoolSlots ?? 4096, shared });
      const large = lro ? new FramePool({ slotSize: LARGE_SLOT, slots: options.rxLargeSlots ?? burst + 128, shared }) : null;
      if (slotSize - TAP_RX_HEADROOM + (large?.slotSize ?? 0) < (lro ? MAX_FRAME : mtu + 19)) throw new RangeError('receive buffers too small');
      qs.push(new TapQueue(firstId + i, q.fds[i]!, addon.QueueIo, burst, pool, large));
    }
    return new TapDevice(q.name, q.mac, features, qs, offloadFlags);
  }

  /** Lets `loop` drive the queues: it polls them, and a ready fd wakes it. */
  attach(loop: EventLoop): void {
    if (this.closed) throw new TapError(`TAP ${this.name} is closed`, 'ERR_SHOAL_TAP_CLOSED');
    for (const q of this.queues) {
      loop.add(q);
      // The fd's readiness callback is a step of Node's loop of its own: the pass runs in it.
      q.wake = () => loop.runNow();
    }
    this.loops.push(loop);
    loop.wake();
  }

  /** Closes every queue's fd (a TAP that no fd holds and that is not persistent goes away). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const loop of this.loops) for (const q of this.queues) loop.remove(q);
    this.loops.length = 0;
    for (const q of this.queues) {
      q.wake = null;
      q.close();
    }
  }

  /** The queues' stats added up. */
  totals(): QueueStats {
    return sumQueueStats(this.queues);
  }

  /** The queues' counters added up (errno fields: the last one any queue saw). */
  counters(): TapQueueCounters {
    const sum = { ...this.queues[0]!.counters };
    for (let i = 1; i < this.queues.length; i++) {
      const c = this.queues[i]!.counters;
      for (const k of Object.keys(sum) as (keyof TapQueueCounters)[]) {
        sum[k] = k === 'rxErrno' || k === 'txErrno' ? c[k] || sum[k] : sum[k] + c[k];
      }
    }
    return sum;
  }
}

/** The largest offload set the kernel takes; other errors than EINVAL are thrown. */
function negotiateOffloads(addon: TapAddon, fd: number, wanted: boolean): number {
  const sets = wanted ? offloadCandidates(addon.offloadFlags) : [0];
  for (const flags of sets) {
    try {
      addon.setOffload(fd, flags);
      return flags;
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EINVAL' || flags === 0) throw e;
    }
  }
  return 0;
}

function randomMac(): MacAddress {
  // Locally administered (bit 1 of the first byte), unicast (bit 0 clear).
  return 0x02_00_00_00_00_00 + Math.floor(Math.random() * 2 ** 40);
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
}
