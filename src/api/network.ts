/**
 * An in-process network of hosts on a memory switch, in real time: what the demo, the
 * API tests and applications that want Shoal without a real link use. Host i has MAC
 * 02:00:00:00:00:(i+1) and address 10.0.0.(i+1)/24 unless told otherwise.
 */

import { MemoryDevice, MemorySwitch, type MemoryDeviceOptions, type MemorySwitchOptions, type SwitchPortOptions } from '../link/memory/index.js';
import { RealClock, type Clock } from '../time/clock.js';
import { EventLoop } from '../time/loop.js';
import { formatIpv4, parseIpv4 } from '../wire/addr.js';
import { ShardGroup, type ShardGroupOptions } from '../shard/group.js';
import { Host, type HostOptions } from './host.js';

export interface NetworkOptions {
  /** The clock of the loop (default: the real clock). */
  clock?: Clock;
  switch?: MemorySwitchOptions;
  /** Subnet base address, /24 (default 10.0.0.0). */
  subnet?: string;
}

export interface AddHostOptions extends Partial<Omit<HostOptions, 'device' | 'loop'>> {
  device?: Partial<MemoryDeviceOptions>;
  port?: SwitchPortOptions;
}

export interface AddShardedHostOptions extends Partial<Omit<ShardGroupOptions, 'shards'>> {
  shards: number;
  device?: Partial<MemoryDeviceOptions>;
  port?: SwitchPortOptions;
}

export class MemoryNetwork {
  readonly loop: EventLoop;
  readonly switch: MemorySwitch;
  readonly hosts: Host[] = [];
  readonly groups: ShardGroup[] = [];
  /** Addresses handed out so far (a host or a sharded host takes one). */
  private count = 0;
  private readonly base: number;

  constructor(options: NetworkOptions = {}) {
    this.loop = new EventLoop(options.clock ?? new RealClock());
    this.switch = new MemorySwitch(options.switch);
    this.loop.add(this.switch);
    this.base = parseIpv4(options.subnet ?? '10.0.0.0');
    this.loop.start();
  }

  /** A new host on its own switch port. */
  addHost(options: AddHostOptions = {}): Host {
    const i = this.count++;
    if (i >= 254) throw new RangeError('a memory network holds at most 254 hosts');
    const { device: deviceOptions, port, ...rest } = options;
    const device = new MemoryDevice({ name: `host${i}`, mac: 0x02_00_00_00_00_00 + i + 1, ...deviceOptions });
    this.switch.attach(device, port);
    for (const q of device.queues) this.loop.add(q);
    const host = new Host({ address: `${formatIpv4((this.base + i + 1) >>> 0)}/24`, seed: i + 1, ...rest, device, loop: this.loop });
    this.hosts.push(host);
    this.loop.wake();
    return host;
  }

  /**
   * A host of `shards` stacks on one address, on its own switch port: a device with a
   * queue per shard and shared receive pools, steering and forwarding between the shards
   * (src/shard), all on this network's loop.
   */
  addShardedHost(options: AddShardedHostOptions): ShardGroup {
    const i = this.count++;
    if (i >= 254) throw new RangeError('a memory network holds at most 254 hosts');
    const { device: deviceOptions, port, shards, ...rest } = options;
    const device = new MemoryDevice({ name: `host${i}`, mac: 0x02_00_00_00_00_00 + i + 1, queues: shards, ...deviceOptions, sharedPools: true });
    // Built before it is attached: a bad option leaves the switch as it was.
    const group = new ShardGroup(device, this.loop, { address: `${formatIpv4((this.base + i + 1) >>> 0)}/24`, seed: i + 1, ...rest, shards });
    this.switch.attach(device, port);
    this.groups.push(group);
    this.loop.wake();
    return group;
  }

  /** Stops the loop and every host. */
  close(): void {
    this.loop.stop();
    for (const h of this.hosts) h.close();
    for (const g of this.groups) g.close();
  }
}
