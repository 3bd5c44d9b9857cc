/**
 * The queue of a shard that has no device queue of its own (Seastar's proxy device):
 * what it receives, the shards that own queues steer to it over the mesh; what it sends
 * goes over the mesh to the shard that owns queue `owner % queues`, which transmits it
 * on its queue. At most `PROXY_IN_FLIGHT` frames are out at once (Seastar keeps 128);
 * past that the proxy stops pulling, so the stack above keeps its data — back
 * pressure, not loss. It has the device's features (checksum offload, TSO), so the
 * stack above builds the same frames as on a queue of its own.
 */
import type { Packet } from '../packet/packet.js';
import type { FramePool } from '../packet/pool.js';
import { newQueueStats, type Queue, type QueueStats, type RxHandler, type TxProvider } from '../link/device.js';
import { TxProviders, type TxSink } from '../link/providers.js';
import type { FrameForwarder } from './forward.js';

/** Seastar's limit on a proxy's frames in flight to its owner. */
export const PROXY_IN_FLIGHT = 128;

export class ProxyQueue implements Queue, TxSink {
  readonly stats: QueueStats = newQueueStats();
  private readonly providers = new TxProviders();

  constructor(
    readonly id: number,
    /** The shard that owns the device queue this one sends through. */
    readonly owner: number,
    private readonly fwd: FrameForwarder,
    readonly rxPools: readonly FramePool[],
    private readonly limit = PROXY_IN_FLIGHT,
  ) {}

  setReceiver(handler: RxHandler): void {
    this.fwd.onFrames = handler;
  }

  addProvider(provider: TxProvider): void {
    this.providers.add(provider);
  }

  removeProvider(provider: TxProvider): void {
    this.providers.remove(provider);
  }

  /** Full while the owner holds `limit` of this shard's frames (it gives them back as it sends them). */
  get full(): boolean {
    return this.fwd.inFlight[this.owner]! >= this.limit;
  }

  push(p: Packet): void {
    const bytes = p.length;
    if (this.fwd.transmitVia(p, this.owner)) {
      this.stats.txFrames++;
      this.stats.txBytes += bytes;
    } else {
      this.stats.txDrops++;
    }
  }

  /** What other shards forwarded here, then what the stack has to send (while the owner has room), in one bundle. */
  poll(): number {
    let work = this.fwd.receive();
    work += this.providers.pullInto(this);
    this.fwd.flush();
    return work;
  }

  nextEventAt(): number {
    return this.fwd.pending > 0 || this.fwd.unflushed ? 0 : Infinity;
  }
}
