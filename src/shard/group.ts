/**
 * Shards on one thread: N full stacks over one multi-queue device, each owning a queue,
 * with steering and forwarding between them exactly as across workers — the form the
 * tests run under the virtual clock (same code paths, deterministic), and a way to use
 * several stacks for one address without threads.
 *
 * The device needs at least N queues and shared receive pools (a memory device with
 * `queues: N, sharedPools: true`); shards without a queue of their own (proxy queues)
 * are not built yet.
 */
import { Host, type HostOptions } from '../api/host.js';
import type { Device } from '../link/device.js';
import type { EventLoop } from '../time/loop.js';
import { FrameForwarder, sharedPoolsOf } from './forward.js';
import { MeshEndpoint, meshMemory } from './mesh.js';
import { ShardQueue } from './shard-queue.js';
import { Steering, type SteeringOptions } from './steering.js';

export interface ShardGroupOptions extends Omit<HostOptions, 'device' | 'loop' | 'queue'> {
  shards: number;
  /** The redirection table and key steering uses (default: the device's RSS key, shards round-robin). */
  steering?: SteeringOptions;
  /** Frames one shard may hold of another's (default 1000). */
  maxInFlight?: number;
}

export class ShardGroup {
  /** One host (stack, net, dgram) per shard, shard i at index i. */
  readonly hosts: Host[] = [];
  readonly queues: ShardQueue[] = [];
  readonly forwarders: FrameForwarder[] = [];
  readonly steering: Steering;

  constructor(device: Device, loop: EventLoop, options: ShardGroupOptions) {
    const { shards, steering, maxInFlight = 1000, ...hostOptions } = options;
    if (device.queues.length < shards) throw new RangeError(`${shards} shards need a device with ${shards} queues; ${device.name} has ${device.queues.length}`);
    this.steering = new Steering(shards, { key: device.features.rss.key, ...steering });
    let capacity = 2;
    while (capacity < 2 * maxInFlight + 64) capacity *= 2;
    const mesh = meshMemory(shards, capacity, false);
    const pools = device.queues.slice(0, shards).map((q) => sharedPoolsOf(q.rxPools));
    for (let i = 0; i < shards; i++) {
      const inner = device.queues[i]!;
      const fwd = new FrameForwarder(new MeshEndpoint(mesh, i), inner.rxPools, pools, capacity, maxInFlight);
      fwd.wake = () => loop.wake();
      const queue = new ShardQueue(i, inner, this.steering, fwd);
      const view: Device = { name: `${device.name}/${i}`, mac: device.mac, features: device.features, queues: [queue] };
      loop.add(queue);
      this.forwarders.push(fwd);
      this.queues.push(queue);
      const portFilter = this.steering.portFilter(i);
      const mac = device.mac;
      // Shards share an address: each takes every N-th IP identification.
      const ipv4 = { ...hostOptions.ipv4, idSpace: { index: i, count: shards } };
      const host = new Host({ ...hostOptions, seed: (hostOptions.seed ?? 1) * 1000 + i, device: view, loop, portFilter, ipv4 });
      const stack = host.stack;
      stack.ipv4.onReassembled = (p) => queue.takeReassembled(p, stack.address, mac);
      this.hosts.push(host);
    }
  }

  /** Stops every shard's stack. */
  close(): void {
    for (const h of this.hosts) h.close();
  }
}
