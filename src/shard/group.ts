/**
 * Shards on one thread: N full stacks over one multi-queue device, each owning a queue,
 * with steering and forwarding between them exactly as across workers — the form the
 * tests run under the virtual clock (same code paths, deterministic), and a way to use
 * several stacks for one address without threads.
 *
 * The device needs shared receive pools (a memory device with `sharedPools: true`). With
 * fewer queues than shards, queues go to the first shards and every other shard gets a
 * proxy queue (proxy-queue.ts) through the owner of queue `shard % queues`; with more,
 * the shards drive the rest in turn (`QueuePolicy`).
 */
import type { Host } from '../api/host.js';
import type { Device, Queue } from '../link/device.js';
import type { FramePool } from '../packet/pool.js';
import type { EventLoop } from '../time/loop.js';
import { FrameForwarder, ringCapacityFor, sharedPoolsOf } from './forward.js';
import { MeshEndpoint, meshMemory } from './mesh.js';
import { ProxyQueue } from './proxy-queue.js';
import { ShardQueue } from './shard-queue.js';
import { shardHost, type ShardHostOptions } from './shard-host.js';
import { Steering, type SteeringOptions } from './steering.js';
import { startShardedDhcp } from './lease.js';
import type { DhcpClient, DhcpClientOptions } from '../stack/dhcp.js';
import { ListenPorts } from '../stack/ports.js';

/**
 * Which shards drive the device's queues (libVMA's ring allocation logic):
 * - 'per-shard' (default): queue q is driven by shard q % shards — with as many queues as
 *   shards, each shard its own; shards beyond the queues send through proxy queues;
 * - 'shared': shard 0 drives every queue (the device as one ring) and every other shard
 *   sends through it, as on a NIC with one queue.
 * Which shard handles a flow is steering's (pins included), whatever queue it came in on.
 */
export type QueuePolicy = 'per-shard' | 'shared';

export interface ShardGroupOptions extends ShardHostOptions {
  shards: number;
  queuePolicy?: QueuePolicy;
  /** The redirection table and key steering uses (default: the device's RSS key, shards round-robin). */
  steering?: SteeringOptions;
  /** Frames one shard may hold of another's (default 1000). */
  maxInFlight?: number;
}

export class ShardGroup {
  /** One host (stack, net, dgram) per shard, shard i at index i. */
  readonly hosts: Host[] = [];
  /** The shards that own a device queue (shard i owns queue i)... */
  readonly queues: ShardQueue[] = [];
  /** ...and the others, which send through an owner (shard `queues.length + k` at index k). */
  readonly proxies: ProxyQueue[] = [];
  readonly forwarders: FrameForwarder[] = [];
  readonly steering: Steering;

  constructor(
    device: Device,
    private readonly loop: EventLoop,
    options: ShardGroupOptions,
  ) {
    const { shards, steering, maxInFlight = 1000, queuePolicy = 'per-shard', ...hostOptions } = options;
    if (queuePolicy !== 'per-shard' && queuePolicy !== 'shared') throw new RangeError(`queuePolicy is 'per-shard' or 'shared', not ${JSON.stringify(queuePolicy)}`);
    this.steering = new Steering(shards, { key: device.features.rss.key, ...steering });
    const capacity = ringCapacityFor(maxInFlight);
    const mesh = meshMemory(shards, capacity, false);
    // Shards 0..owned-1 drive queues (each its own, and the queues beyond the shards in turn).
    const owned = queuePolicy === 'shared' ? 1 : Math.min(shards, device.queues.length);
    const extraQueues = (i: number): Queue[] => device.queues.filter((_, q) => q >= owned && q % owned === i);
    // Shard i's pools: those of every queue it drives; a proxy copies what it sends into
    // frames of its owner's (one thread: they are shared).
    const rxPoolsOf = (i: number): readonly FramePool[] => [...new Set(device.queues.filter((_, q) => q % owned === i % owned).flatMap((q) => q.rxPools))];
    const pools = Array.from({ length: shards }, (_, i) => sharedPoolsOf(rxPoolsOf(i)));
    const listenMemory = ListenPorts.memory();
    for (let i = 0; i < shards; i++) {
      const fwd = new FrameForwarder(new MeshEndpoint(mesh, i), rxPoolsOf(i), pools, capacity, maxInFlight);
      fwd.wake = () => loop.wake();
      let queue: ShardQueue | ProxyQueue;
      if (i < owned) {
        queue = new ShardQueue(i, device.queues[i]!, this.steering, fwd, extraQueues(i));
        this.queues.push(queue);
      } else {
        queue = new ProxyQueue(i, i % owned, fwd, rxPoolsOf(i));
        this.proxies.push(queue);
      }
      loop.add(queue);
      this.forwarders.push(fwd);
      this.hosts.push(shardHost(i, queue, device, this.steering, fwd, loop, hostOptions, listenMemory));
    }
  }

  /** DHCP for the shared address: the client on shard 0, its leases applied on every shard (lease.ts). */
  startDhcp(options?: DhcpClientOptions): DhcpClient {
    return startShardedDhcp(this.hosts[0]!.stack, this.forwarders[0]!, this.hosts.length, options);
  }

  /** Stops every shard's stack, and the loop stops polling their queues. */
  close(): void {
    for (const h of this.hosts) h.close();
    for (const q of [...this.queues, ...this.proxies]) this.loop.remove(q);
  }
}
