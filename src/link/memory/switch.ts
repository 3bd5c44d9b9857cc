/**
 * A learning Ethernet switch (IEEE 802.1D transparent bridging, as the Linux bridge):
 * it learns which port each source MAC address is behind, forwards unicast to that
 * port only, and floods broadcast, multicast and unknown destinations to every port
 * but the one the frame came in on. A frame is never sent back out its ingress port.
 *
 * The MAC table is bounded (`macTableSize`): when it is full and nothing in it has
 * aged out, new addresses are not learned (their traffic is flooded), as the Linux
 * bridge does with `fdb_max_learned`. Entries age out `agingMs` after they were last
 * seen (802.1D default 300 s), in the time the caller passes in.
 *
 * Each port's faults apply to the frames the switch sends out of it, to its device.
 */

import { isMulticastMac, type MacAddress } from '../../wire/addr.js';
import type { Pollable } from '../device.js';
import { Channel } from './channel.js';
import type { MemoryAttachment, MemoryDevice } from './device.js';
import type { FaultConfig, FaultCounters } from './faults.js';
import type { Frame } from './frame.js';
import { deriveSeed } from './wire.js';

export interface MemorySwitchOptions {
  /** Most MAC addresses learned (default 1024). */
  macTableSize?: number;
  /** An entry not seen for this long is forgotten (ms, default 300000). */
  agingMs?: number;
  /** Seed from which each port's fault stream is derived (default 1). */
  seed?: number;
}

export interface SwitchPortOptions {
  /** Faults of the frames going out of this port to its device. */
  faults?: FaultConfig;
  seed?: number;
}

export interface SwitchCounters {
  /** Unicast frames sent to the one port their destination was learned on. */
  forwarded: number;
  /** Frames sent to every other port (broadcast, multicast, unknown unicast). */
  flooded: number;
  /** Frames whose destination is behind the port they came in on: dropped. */
  filtered: number;
  learned: number;
  /** A known address seen on another port (a station moved). */
  moved: number;
  aged: number;
  /** Addresses not learned because the table was full. */
  tableFull: number;
}

class MacEntry {
  constructor(
    public port: SwitchPort,
    public seen: number,
  ) {}
}

export class SwitchPort implements MemoryAttachment {
  /** The direction from the switch to the device, with this port's faults. */
  readonly out: Channel;

  constructor(
    private readonly sw: MemorySwitch,
    readonly id: number,
    readonly device: MemoryDevice,
    faults: FaultConfig | undefined,
    seed: number,
  ) {
    this.out = new Channel(device, faults, seed);
  }

  /** A frame from the device, into the switch; returns its cost in frames at the receivers. */
  send(f: Frame, now: number): number {
    return this.sw.forward(this, f, now);
  }

  get counters(): FaultCounters {
    return this.out.counters;
  }
}

export class MemorySwitch implements Pollable {
  readonly counters: SwitchCounters = { forwarded: 0, flooded: 0, filtered: 0, learned: 0, moved: 0, aged: 0, tableFull: 0 };
  readonly macTableSize: number;
  readonly agingMs: number;
  private readonly portList: SwitchPort[] = [];
  private readonly table = new Map<MacAddress, MacEntry>();
  private readonly seed: number;
  private nextId = 0;
  private nextSweep = -Infinity;

  constructor(options: MemorySwitchOptions = {}) {
    this.macTableSize = options.macTableSize ?? 1024;
    this.agingMs = options.agingMs ?? 300_000;
    this.seed = options.seed ?? 1;
    if (!(Number.isInteger(this.macTableSize) && this.macTableSize >= 0)) throw new RangeError(`macTableSize must be an integer ≥ 0, got ${this.macTableSize}`);
    if (!(this.agingMs > 0)) throw new RangeError(`agingMs must be > 0, got ${this.agingMs}`);
  }

  get ports(): readonly SwitchPort[] {
    return this.portList;
  }

  /** Addresses in the MAC table (aged ones included until they are looked up or swept). */
  get tableEntries(): number {
    return this.table.size;
  }

  /** Plugs a device into a new port. */
  attach(device: MemoryDevice, options: SwitchPortOptions = {}): SwitchPort {
    const id = this.nextId++;
    const port = new SwitchPort(this, id, device, options.faults, options.seed ?? deriveSeed(this.seed, id + 1));
    device.connect(port);
    this.portList.push(port);
    return port;
  }

  /** Unplugs a port: its addresses are forgotten, its frames in flight dropped. */
  detach(port: SwitchPort): void {
    const i = this.portList.indexOf(port);
    if (i < 0) return;
    this.portList.splice(i, 1);
    for (const [mac, e] of this.table) if (e.port === port) this.table.delete(mac);
    port.device.disconnect();
    port.out.close();
  }

  /** The port `mac` was learned on and has not aged out, or null. */
  lookup(mac: MacAddress, now: number): SwitchPort | null {
    const e = this.table.get(mac);
    if (e === undefined) return null;
    if (now - e.seen > this.agingMs) {
      this.table.delete(mac);
      this.counters.aged++;
      return null;
    }
    return e.port;
  }

  /** A frame from `ingress` (takes its reference); returns what it costs the receivers, in frames. */
  forward(ingress: SwitchPort, f: Frame, now: number): number {
    this.learn(f.srcMac, ingress, now);
    const c = this.counters;
    if (!isMulticastMac(f.dstMac)) {
      const port = this.lookup(f.dstMac, now);
      if (port !== null) {
        if (port === ingress) {
          c.filtered++;
          f.release();
          return 1;
        }
        c.forwarded++;
        return port.out.send(f, now);
      }
    }
    c.flooded++;
    let cost = 0;
    const ports = this.portList;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i]!;
      if (p === ingress) continue;
      f.refs++;
      cost += p.out.send(f, now);
    }
    f.release();
    return Math.max(cost, 1);
  }

  poll(now: number): number {
    let work = 0;
    for (let i = 0; i < this.portList.length; i++) work += this.portList[i]!.out.poll(now);
    return work;
  }

  nextEventAt(): number {
    let t = Infinity;
    for (let i = 0; i < this.portList.length; i++) t = Math.min(t, this.portList[i]!.out.nextEventAt());
    return t;
  }

  /** What an event loop polls: every attached device's queues and the switch. */
  pollables(): Pollable[] {
    const out: Pollable[] = [];
    for (const p of this.portList) out.push(...p.device.queues);
    out.push(this);
    return out;
  }

  private learn(src: MacAddress, port: SwitchPort, now: number): void {
    if (isMulticastMac(src)) return;
    const e = this.table.get(src);
    if (e !== undefined) {
      if (e.port !== port) {
        e.port = port;
        this.counters.moved++;
      }
      e.seen = now;
      return;
    }
    if (this.table.size >= this.macTableSize) {
      // Make room from aged entries, at most a few times per aging period.
      if (now >= this.nextSweep) {
        this.nextSweep = now + this.agingMs / 8;
        for (const [mac, old] of this.table) {
          if (now - old.seen > this.agingMs) {
            this.table.delete(mac);
            this.counters.aged++;
          }
        }
      }
      if (this.table.size >= this.macTableSize) {
        this.counters.tableFull++;
        return;
      }
    }
    this.table.set(src, new MacEntry(port, now));
    this.counters.learned++;
  }
}
