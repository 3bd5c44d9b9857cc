/**
 * Capture around any link: a `Device` that passes everything through to the device it
 * wraps and writes each frame the stack sends or receives to a pcap writer, as a
 * capture on the host's interface would (sent frames before the NIC's offloads, so
 * TSO super-frames appear whole, as tcpdump shows them on Linux). The writer's
 * `epochMs` should be the clock's.
 */

import type { Clock } from '../time/clock.js';
import type { Device, DeviceFeatures, Queue, QueueStats, RxHandler, TxProvider } from './device.js';
import type { PcapWriter } from './pcap.js';
import type { FramePool } from '../packet/pool.js';
import type { MacAddress } from '../wire/addr.js';

class CaptureQueue implements Queue {
  private readonly wrapped = new Map<TxProvider, TxProvider>();

  constructor(
    private readonly inner: Queue,
    private readonly writer: PcapWriter,
    private readonly clock: Clock,
  ) {}

  get id(): number {
    return this.inner.id;
  }

  get stats(): QueueStats {
    return this.inner.stats;
  }

  get rxPools(): readonly FramePool[] {
    return this.inner.rxPools;
  }

  setReceiver(handler: RxHandler): void {
    const { writer, clock } = this;
    this.inner.setReceiver((burst, count) => {
      const t = clock.now();
      for (let i = 0; i < count; i++) writer.write(burst[i]!, t);
      handler(burst, count);
    });
  }

  addProvider(provider: TxProvider): void {
    const { writer, clock } = this;
    const capturing: TxProvider = () => {
      const p = provider();
      if (p !== null) writer.write(p, clock.now());
      return p;
    };
    this.wrapped.set(provider, capturing);
    this.inner.addProvider(capturing);
  }

  removeProvider(provider: TxProvider): void {
    const capturing = this.wrapped.get(provider);
    if (capturing === undefined) return;
    this.wrapped.delete(provider);
    this.inner.removeProvider(capturing);
  }

  poll(now: number): number {
    return this.inner.poll(now);
  }

  nextEventAt(): number {
    return this.inner.nextEventAt();
  }
}

export class CaptureDevice implements Device {
  readonly queues: readonly Queue[];

  constructor(
    readonly inner: Device,
    readonly writer: PcapWriter,
    clock: Clock,
  ) {
    this.queues = inner.queues.map((q) => new CaptureQueue(q, writer, clock));
  }

  get name(): string {
    return this.inner.name;
  }

  get mac(): MacAddress {
    return this.inner.mac;
  }

  get features(): DeviceFeatures {
    return this.inner.features;
  }
}
