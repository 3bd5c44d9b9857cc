/**
 * One shard's complete IPv4 stack over a device queue (DESIGN.md, src/stack):
 * interface (L2), ARP, IPv4 with fragmentation and reassembly, ICMP, UDP and TCP.
 * It is sans-IO: the device queue calls it with bursts and pulls frames from it, the
 * event loop polls it for its timers, and time comes from the clock it is given.
 */

import type { Device, Pollable, Queue } from '../link/device.js';
import { FramePool } from '../packet/pool.js';
import type { Clock } from '../time/clock.js';
import { TimerSet } from '../time/timers.js';
import { Random } from '../util/random.js';
import { parseIpv4, type Ipv4Address } from '../wire/addr.js';
import { Arp, type ArpOptions } from './arp.js';
import type { StackEnv } from './env.js';
import { Icmp, type IcmpOptions } from './icmp.js';
import { NetworkInterface } from './interface.js';
import { Ipv4, type Ipv4Options } from './ipv4.js';
import { Udp, type UdpOptions } from './udp.js';
import { ReceiveMemory } from './receive-memory.js';
import { EphemeralPorts, type ListenPorts, type PortFilter } from './ports.js';
import { Tcp, type TcpOptions } from './tcp/index.js';

export interface StackOptions {
  device: Device;
  /** The device queue this stack owns (default 0). */
  queue?: number;
  /** Our address with its prefix length, e.g. '10.0.0.1/24' (none: set it later, e.g. by DHCP). */
  address?: string;
  gateway?: string;
  clock: Clock;
  timers?: TimerSet;
  /** Seed of everything random (ISN key, ports, IP IDs): the same seed, the same run. */
  seed?: number;
  /** Frames for what the stack builds (default: 8192 frames of 2 KB). */
  pool?: FramePool;
  /**
   * Bytes of received data all sockets together may hold (default 128 MiB, as Linux's
   * tcp_mem): past three quarters of it, or while a receive pool of the device is down
   * to its ring's reserve, what arrives is copied out of its frame before it is kept.
   */
  receiveMemory?: number;
  /** Called when something is ready to send outside a receive burst (the event loop's wake). */
  wake?: () => void;
  /**
   * Which ephemeral ports a connection may take (default: any): a shard takes only those
   * whose replies steer back to it (Seastar's connect; src/shard/steering.ts portFilter).
   */
  portFilter?: PortFilter;
  /** Shards sharing an address: their listen(0) calls agree on one port each (ports.ts). */
  listenPorts?: ListenPorts;
  /** Announce our address with a gratuitous ARP when it is set (default true; of shards sharing an address, only one does). */
  announce?: boolean;
  arp?: ArpOptions;
  ipv4?: Ipv4Options;
  icmp?: IcmpOptions;
  udp?: UdpOptions;
  tcp?: TcpOptions;
}

/** Parses 'a.b.c.d/n' into an address and a prefix length, or throws a clear error. */
export function parseCidr(text: string): { address: Ipv4Address; prefix: number } {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || !(prefix >= 0 && prefix <= 32)) throw new TypeError(`not an address with a prefix length: ${JSON.stringify(text)} (expected e.g. 10.0.0.1/24)`);
  return { address: parseIpv4(m[1]!), prefix };
}

export class Stack implements Pollable {
  readonly env: StackEnv;
  readonly timers: TimerSet;
  readonly pool: FramePool;
  readonly iface: NetworkInterface;
  readonly arp: Arp;
  readonly ipv4: Ipv4;
  readonly icmp: Icmp;
  readonly udp: Udp;
  readonly tcp: Tcp;
  private wakeHandler: (() => void) | null;
  private readonly queue: Queue;

  constructor(readonly options: StackOptions) {
    const device = options.device;
    const queue = device.queues[options.queue ?? 0];
    if (queue === undefined) throw new RangeError(`device ${device.name} has no queue ${options.queue}`);
    this.queue = queue;
    this.timers = options.timers ?? new TimerSet();
    this.pool = options.pool ?? new FramePool({ slotSize: 2048, slots: 8192 });
    this.wakeHandler = options.wake ?? null;
    const self = this;
    const random = new Random(options.seed ?? 1);
    this.env = {
      clock: options.clock,
      timers: this.timers,
      pool: this.pool,
      features: device.features,
      rxMemory: new ReceiveMemory(queue.rxPools, options.receiveMemory),
      random,
      ephemeralPorts: new EphemeralPorts(random, options.portFilter ?? null, options.listenPorts ?? null),
      sourceFor: (dst) => self.ipv4.sourceFor(dst),
      isLocal: (a) => self.ipv4.isLocal(a),
      pathMtu: (dst) => self.ipv4.pathMtu(dst),
      wake: () => self.wakeHandler?.(),
    };
    this.iface = new NetworkInterface(device.mac, options.clock);
    this.arp = new Arp(this.env, this.iface, (ip) => this.ipv4.isLocal(ip), options.arp);
    this.ipv4 = new Ipv4(this.env, this.iface, this.arp, options.ipv4);
    this.arp.onFailure = (_ip, packets, now) => this.ipv4.arpFailed(packets, now);
    this.icmp = new Icmp(this.env, this.ipv4, options.icmp);
    this.ipv4.icmp = this.icmp;
    this.udp = new Udp(this.env, this.ipv4, options.udp);
    this.tcp = new Tcp(this.env, options.tcp);
    this.ipv4.register(this.icmp);
    this.ipv4.register(this.udp);
    this.ipv4.register(this.tcp);
    this.iface.arp = this.arp;
    this.iface.ipv4 = this.ipv4;
    this.iface.afterBurst = () => this.tcp.flush();
    this.iface.attach(queue);
    if (options.address !== undefined) {
      const { address, prefix } = parseCidr(options.address);
      this.setAddress(address, prefix, options.gateway !== undefined ? parseIpv4(options.gateway) : 0);
    }
  }

  /** Sets our address (and announces it with a gratuitous ARP). */
  setAddress(address: Ipv4Address, prefix: number, gateway: Ipv4Address = 0): void {
    this.ipv4.setAddress(address, prefix, gateway);
    if (address !== 0 && this.options.announce !== false) this.arp.announce(address);
  }

  get address(): Ipv4Address {
    return this.ipv4.address;
  }

  /** Sets what is called when the stack has something to send outside a burst (an event loop's wake). */
  onWake(handler: (() => void) | null): void {
    this.wakeHandler = handler;
  }

  /** Runs the timers that are due. */
  poll(now: number): number {
    return this.timers.runDue(now);
  }

  nextEventAt(): number {
    return this.timers.nextDue();
  }

  /** Detaches from the device and lets go of everything held: queued packets, timers, caches. */
  close(): void {
    this.iface.detach(this.queue);
    this.iface.clear();
    this.arp.clear();
    this.ipv4.clear();
    this.icmp.clear();
    this.udp.clear();
    this.tcp.clear();
  }

  /** Every counter of every layer, as a plain object (a snapshot). */
  counters() {
    return structuredClone({
      link: this.iface.counters,
      arp: this.arp.counters,
      ipv4: this.ipv4.counters,
      icmp: this.icmp.counters,
      udp: this.udp.counters,
      tcp: this.tcp.counters,
    });
  }
}
