/**
 * One shard's stack of a host that several shards share (one address, one MAC): built
 * over the shard's queue (its own device queue, or a proxy queue), with what sharing an
 * address asks of each stack — outgoing ports whose replies steer back to this shard,
 * its own slice of the IP identification space, one announcer (a gratuitous ARP once,
 * not N times), one shard answering ARP requests (every shard sees them, and learns the
 * asker) and what a shard's own request learned sent to every shard, one port for every
 * shard's listen(0), DHCP leases from shard 0 taken, and reassembled datagrams sent on to the shard of their 4-tuple
 * (Seastar's "forward twice"). The same for shards on one thread (group.ts) and shards
 * in workers (worker-network.ts).
 */
import { Host, type HostOptions } from '../api/host.js';
import type { Device } from '../link/device.js';
import { ListenPorts } from '../stack/ports.js';
import type { EventLoop } from '../time/loop.js';
import type { FrameForwarder } from './forward.js';
import type { ProxyQueue } from './proxy-queue.js';
import { forwardReassembled, ShardQueue } from './shard-queue.js';
import type { Steering } from './steering.js';
import { takeLeases } from './lease.js';

export type ShardHostOptions = Omit<HostOptions, 'device' | 'loop' | 'queue' | 'listenPorts'>;

export function shardHost(
  shard: number,
  queue: ShardQueue | ProxyQueue,
  device: Pick<Device, 'name' | 'mac' | 'features'>,
  steering: Steering,
  fwd: FrameForwarder,
  loop: EventLoop,
  options: ShardHostOptions,
  /** Where the shards of this address agree on their listen(0) ports (ListenPorts.memory()). */
  listenMemory: SharedArrayBuffer,
): Host {
  const shards = steering.shards;
  const view: Device = { name: `${device.name}/${shard}`, mac: device.mac, features: device.features, queues: [queue] };
  // Shards share an address: each takes every N-th IP identification.
  const ipv4 = { ...options.ipv4, idSpace: { index: shard, count: shards } };
  // Every shard sees every ARP frame (shard-queue.ts); one answers requests for the address.
  const arp = { ...options.arp, answer: shard === 0 };
  const host = new Host({
    ...options,
    seed: (options.seed ?? 1) * 1000 + shard,
    device: view,
    loop,
    portFilter: steering.portFilter(shard),
    ipv4,
    arp,
    announce: shard === 0,
    ...(shards > 1 ? { listenPorts: new ListenPorts(listenMemory) } : {}),
  });
  const stack = host.stack;
  const mac = device.mac;
  const scratch = new Uint8Array(64);
  stack.ipv4.onReassembled = (p) =>
    queue instanceof ShardQueue ? queue.takeReassembled(p, stack.address, mac) : forwardReassembled(p, stack.address, mac, shard, steering, fwd, scratch);
  // What a shard's own request taught it, every shard takes (seed 001); a reply nobody
  // asked for teaches nobody (Linux's arp_accept=0).
  stack.arp.onLearned = (ip, hw) => {
    for (let s = 0; s < shards; s++) if (s !== shard) fwd.control(s, DESC_ARP, ip, Math.floor(hw / 2 ** 32), hw % 2 ** 32);
  };
  // Shard 0 runs DHCP for the address (lease.ts); the others take its leases.
  if (shard > 0) takeLeases(fwd, stack);
  const before = fwd.onOther;
  fwd.onOther = (s, at, from) => {
    if (s[at] === DESC_ARP) stack.arp.adopt(s[at + 1]! >>> 0, (s[at + 2]! >>> 0) * 2 ** 32 + (s[at + 3]! >>> 0), loop.clock.now());
    else before?.(s, at, from);
  };
  return host;
}

/** The mesh descriptor kind of an ARP entry one shard learned: address, MAC high 16 bits, MAC low 32 bits. */
export const DESC_ARP = 10;
