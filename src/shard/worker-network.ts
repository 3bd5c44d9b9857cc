/**
 * The network across workers: hosts whose devices have one queue per shard, queue i of
 * every device living in shard i's worker. On the memory link, as a multi-queue veth does (what one end
 * sends on queue i arrives on the other end's queue i). So a shard's medium is in its
 * own thread — a cable between two hosts' queues i, a switch for more — and frames cross
 * threads only where the stacks' steering sends them: to the shard that owns their flow,
 * over the host's mesh (forward.ts). A host may instead be a multi-queue TAP, shard i
 * driving its queue i: tun sends a flow to the queue it last saw the flow sent on, so a
 * connection's frames come to the shard that sends them, and steering forwards only
 * what lands elsewhere (a flow's first frames, fragments, ICMP errors).
 *
 * A host's shard stacks share its address and MAC (shard-host.ts). Built in two steps,
 * because forwarding needs every shard's pools: `NetworkShard` makes this shard's devices
 * and pools; once the engine has gathered every shard's (`sharedPools`), `start` builds
 * the queues, forwarders and stacks.
 */
import { closeSync } from 'node:fs';
import type { Host } from '../api/host.js';
import type { Device, Pollable, QueueStats } from '../link/device.js';
import { CaptureDevice } from '../link/capture.js';
import { PcapWriter } from '../link/pcap.js';
import { MemoryDevice, type MemoryDeviceOptions } from '../link/memory/device.js';
import { TapDevice, type TapDeviceOptions, type TapQueues } from '../link/tap/device.js';
import { MemorySwitch } from '../link/memory/switch.js';
import { deriveSeed, MemoryWire, type MemoryWireOptions } from '../link/memory/wire.js';
import type { EventLoop } from '../time/loop.js';
import { FrameForwarder, sharedPoolsOf, type ForwardCounters, type SharedPoolInfo } from './forward.js';
import { MeshEndpoint, type MeshMemory } from './mesh.js';
import { shardHost, type ShardHostOptions } from './shard-host.js';
import { ShardQueue, type ShardQueueCounters } from './shard-queue.js';
import { Steering, type SteeringOptions } from './steering.js';
import { startShardedDhcp } from './lease.js';
import type { DhcpClient } from '../stack/dhcp.js';

/** A host on the memory link that spans the shards (every field structured-clone safe). */
export interface SpannedHostSpec extends Omit<ShardHostOptions, 'pool' | 'portFilter' | 'wake'> {
  /** What shards call it: `shard.hosts[name]`. */
  name: string;
  /** Its MAC address (default: 02:00:00:00:00:<its index + 1>). */
  mac?: number;
  /** Its device's features, per queue (the device has one queue per shard). */
  device?: Omit<MemoryDeviceOptions, 'mac' | 'queues' | 'sharedPools' | 'name'>;
  /**
   * A TAP instead of a memory device: its queues, one per shard, opened on the main
   * thread (`TapDevice.openQueues({ name, queues: shards })`); shard i drives queue i in
   * its worker and closes its fd. Its MAC is the one `openQueues` chose (`mac` is ignored).
   */
  tap?: { queues: TapQueues; options?: Omit<TapDeviceOptions, 'name' | 'queues' | 'mac' | 'tunPath' | 'sharedPools'> };
  /** Redirection table and key (default: the device's RSS key, shards round-robin). */
  steering?: SteeringOptions;
  /** Frames one shard may hold of another's (default 1000). */
  maxInFlight?: number;
  /** Get the address by DHCP (leave `address` out): the client runs on shard 0, its leases reach every shard. */
  dhcp?: boolean;
  /** Capture every shard's queue to a pcap file: FILE itself with one shard, else FILE with `.shardN` before its extension. */
  pcap?: string;
}

/** Shard `shard`'s capture file of `path` when there are `shards`: serve.pcap → serve.shard1.pcap. */
export function shardPcapPath(path: string, shard: number, shards: number): string {
  if (shards === 1) return path;
  const dot = path.lastIndexOf('.');
  const slash = path.lastIndexOf('/');
  return dot > slash + 1 ? `${path.slice(0, dot)}.shard${shard}${path.slice(dot)}` : `${path}.shard${shard}`;
}

export interface MemoryNetworkSpec {
  hosts: SpannedHostSpec[];
  /** With two hosts: the faults of the cable between them (each shard's cable gets its own seed from `seed`). */
  wire?: MemoryWireOptions;
}

/** What one shard counts for one host: its device queue, steering and forwarding, and every layer of its stack. */
export interface ShardHostCounters {
  host: string;
  shard: number;
  queue: QueueStats;
  /** Frames of this shard's receive pools in use (here, or lent to other shards). */
  poolInUse: number;
  steering: ShardQueueCounters;
  forward: ForwardCounters;
  stack: ReturnType<Host['stack']['counters']>;
}

export class NetworkShard {
  readonly devices: (MemoryDevice | TapDevice)[];
  /** Each host's stack on this shard, by name (after `start`). */
  readonly hosts: Record<string, Host> = {};
  /** On shard 0, the DHCP client of each host that asked for one. */
  readonly dhcp: Record<string, DhcpClient> = {};
  private readonly queues: ShardQueue[] = [];
  private readonly forwarders: FrameForwarder[] = [];
  private readonly pollables: Pollable[] = [];
  private readonly captures: PcapWriter[] = [];

  constructor(
    private readonly spec: MemoryNetworkSpec,
    readonly shard: number,
    readonly shards: number,
    private readonly loop: EventLoop,
  ) {
    const devices: (MemoryDevice | TapDevice)[] = [];
    // This shard's TAP fds are its own from the start: on any failure here, none is left open.
    const adopted = new Set<number>();
    try {
      const names = new Set<string>();
      for (const h of spec.hosts) {
        if (names.has(h.name)) throw new TypeError(`two hosts are named ${JSON.stringify(h.name)}`);
        names.add(h.name);
      }
      const memoryHosts = spec.hosts.filter((h) => h.tap === undefined).length;
      if (spec.wire !== undefined && memoryHosts !== 2) throw new TypeError(`a network's wire faults need exactly two memory hosts, not ${memoryHosts}`);
      spec.hosts.forEach((h, i) => {
        if (h.tap === undefined) {
          devices.push(new MemoryDevice({ ...h.device, name: h.name, mac: h.mac ?? 0x02_00_00_00_00_00 + i + 1, queues: 1, sharedPools: true }));
          return;
        }
        const fds = h.tap.queues.fds;
        if (fds.length !== shards) throw new RangeError(`host ${h.name}: a TAP for ${shards} shards needs ${shards} queues, got ${fds.length}`);
        adopted.add(i); // fromQueues closes the fd itself if it fails
        const tap = TapDevice.fromQueues({ ...h.tap.queues, fds: [fds[shard]!] }, { ...h.tap.options, sharedPools: true }, shard);
        // The fd's readiness is a step of Node's loop of its own: the pass runs in it.
        tap.queues[0]!.wake = () => loop.runNow();
        devices.push(tap);
      });
    } catch (e) {
      for (const d of devices) if (d instanceof TapDevice) d.close();
      spec.hosts.forEach((h, i) => {
        const fd = h.tap?.queues.fds[shard];
        if (fd !== undefined && !adopted.has(i)) {
          try {
            closeSync(fd);
          } catch {
            // already gone
          }
        }
      });
      throw e;
    }
    this.devices = devices;
  }

  /** This shard's pools of each host, for the other shards to read forwarded frames from. */
  sharedPools(): SharedPoolInfo[][] {
    return this.devices.map((d) => sharedPoolsOf(d.queues[0]!.rxPools));
  }

  /**
   * Builds the medium, the queues and the stacks. `meshes[h]`: host h's mesh; `pools[h][s]`:
   * shard s's pools of host h; `listenMemory[h]`: where host h's shards agree on listen(0) ports.
   */
  start(meshes: readonly MeshMemory[], pools: readonly (readonly (readonly SharedPoolInfo[])[])[], listenMemory: readonly SharedArrayBuffer[]): void {
    const { loop, shard } = this;
    const devices = this.devices.filter((d): d is MemoryDevice => d instanceof MemoryDevice);
    if (devices.length === 2) {
      const wire = this.spec.wire ?? {};
      this.pollables.push(new MemoryWire(devices[0]!, devices[1]!, { ...wire, seed: deriveSeed(wire.seed ?? 1, shard + 1) }));
    }
    if (devices.length > 2) {
      const sw = new MemorySwitch();
      for (const d of devices) sw.attach(d);
      this.pollables.push(sw);
    }
    this.spec.hosts.forEach((h, i) => {
      const { name, mac: _mac, device: _device, tap: _tap, steering: steeringOptions, maxInFlight = 1000, dhcp = false, pcap, ...hostOptions } = h;
      let device: Device = this.devices[i]!;
      if (pcap !== undefined) {
        const writer = PcapWriter.toFile(shardPcapPath(pcap, shard, this.shards), loop.clock.epochMs);
        this.captures.push(writer);
        device = new CaptureDevice(device, writer, loop.clock);
      }
      const steering = new Steering(this.shards, { key: device.features.rss.key, ...steeringOptions });
      const mesh = meshes[i]!;
      const fwd = new FrameForwarder(new MeshEndpoint(mesh, shard), device.queues[0]!.rxPools, pools[i]!, mesh.capacity, maxInFlight);
      fwd.wake = () => loop.wake();
      const queue = new ShardQueue(shard, device.queues[0]!, steering, fwd);
      this.queues.push(queue);
      this.forwarders.push(fwd);
      this.pollables.push(queue);
      const host = shardHost(shard, queue, device, steering, fwd, loop, { seed: i + 1, ...hostOptions }, listenMemory[i]!);
      this.hosts[name] = host;
      if (shard === 0 && dhcp) this.dhcp[name] = startShardedDhcp(host.stack, fwd, this.shards);
    });
    for (const p of this.pollables) loop.add(p);
  }

  /** Frames other shards forwarded here and not yet read (the doorbell's re-check). */
  get pending(): number {
    let n = 0;
    for (const f of this.forwarders) n += f.pending;
    return n;
  }

  counters(): ShardHostCounters[] {
    return this.spec.hosts.flatMap((h, i) => {
      const host = this.hosts[h.name];
      if (host === undefined) return [];
      const s = this.devices[i]!.queues[0]!.stats;
      return [
        {
          host: h.name,
          shard: this.shard,
          queue: { ...s },
          poolInUse: this.devices[i]!.queues[0]!.rxPools.reduce((n, p) => n + p.inUse, 0),
          steering: { ...this.queues[i]!.counters },
          forward: structuredClone(this.forwarders[i]!.counters),
          stack: host.stack.counters(),
        },
      ];
    });
  }

  /**
   * Gives every DHCP lease back (RFC 2131 §4.4.6: a DHCPRELEASE), while the loop still
   * runs to send it; at most `waitMs` for each.
   */
  async releaseLeases(waitMs = 500): Promise<void> {
    for (const d of Object.values(this.dhcp)) {
      if (!d.release()) continue;
      this.loop.wake();
      const until = Date.now() + waitMs;
      while (d.state !== 'STOPPED' && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Stops every stack; the loop no longer polls the queues or the medium. */
  close(): void {
    for (const d of Object.values(this.dhcp)) d.stop();
    for (const h of Object.values(this.hosts)) h.close();
    for (const p of this.pollables) this.loop.remove(p);
    for (const d of this.devices) if (d instanceof TapDevice) d.close();
    for (const w of this.captures) w.close();
  }
}
