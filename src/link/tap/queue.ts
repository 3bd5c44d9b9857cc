/**
 * One TAP queue (one fd of the device) under the Queue contract, as MemoryQueue: a poll
 * first hands what was received to the receiver in a burst, then pulls from the
 * providers round-robin and sends what it pulled in one native call.
 *
 * Readiness comes from libuv (uv_poll on the fd, in the addon): when the fd becomes
 * readable the queue marks itself and wakes its event loop, which polls it; a read that
 * returns a full burst leaves the mark set (more may be waiting), a shorter one drained
 * the fd. After EAGAIN on write the queue stops pulling and waits for the fd to become
 * writable: the providers (TCP) see a full queue, which is the back pressure.
 */

import type { Packet } from '../../packet/packet.js';
import type { FramePool } from '../../packet/pool.js';
import { newQueueStats, type Queue, type QueueStats, type RxHandler, type TxProvider } from '../device.js';
import { TxProviders } from '../providers.js';
import type { NativeQueueIo, NativeQueueIoConstructor } from './native.js';
import { POLL_READABLE, POLL_WRITABLE } from './native.js';
import { newTapRxCounters, TapReceiver, type TapRxCounters } from './rx.js';
import { newTapTxCounters, TapTransmitter, type TapTxCounters } from './tx.js';

export interface TapQueueCounters extends TapRxCounters, TapTxCounters {
  /** Times libuv reported the fd ready. */
  wakeups: number;
}

export class TapQueue implements Queue {
  readonly stats: QueueStats = newQueueStats();
  readonly counters: TapQueueCounters;
  receiver: RxHandler | null = null;
  readonly rxPools: readonly FramePool[];
  /** Called when the fd becomes ready: the owner's event loop should poll soon. */
  wake: (() => void) | null = null;
  private readonly rx: TapReceiver;
  private readonly tx: TapTransmitter;
  private readonly io: NativeQueueIo;
  private readonly providers = new TxProviders();
  private readonly burstBuf: Packet[];
  private readable = true;
  private blocked = false;
  private closed = false;

  constructor(
    readonly id: number,
    fd: number,
    QueueIo: NativeQueueIoConstructor,
    readonly burst: number,
    pool: FramePool,
    largePool: FramePool | null,
  ) {
    const rxc = newTapRxCounters();
    const txc = newTapTxCounters();
    this.counters = Object.assign(rxc, txc, { wakeups: 0 });
    // The ring's posted buffers are taken out of the pools already; the reserve is what refills them.
    pool.reserve = Math.min(pool.slotCount >> 1, Math.max(2 * burst, pool.slotCount >> 2));
    if (largePool !== null) largePool.reserve = largePool.slotCount >> 2;
    this.rxPools = largePool !== null ? [pool, largePool] : [pool];
    this.rx = new TapReceiver(burst, pool, largePool, this.stats, this.counters);
    this.tx = new TapTransmitter(burst, this.stats, this.counters);
    this.burstBuf = new Array<Packet>(burst);
    this.io = new QueueIo(fd, burst, this.rx.ctrl, pool.bytes, this.rx.smallCap, largePool?.bytes ?? null, this.rx.largeCap, this.tx.ctrl, this.onReady);
    try {
      this.io.watch(POLL_READABLE);
    } catch (e) {
      // The fd is the native queue's now: it closes it, and says so (nobody closes it twice).
      this.io.close();
      throw Object.assign(e as object, { fdClosed: true });
    }
  }

  setReceiver(handler: RxHandler): void {
    this.receiver = handler;
  }

  addProvider(provider: TxProvider): void {
    this.providers.add(provider);
  }

  removeProvider(provider: TxProvider): void {
    this.providers.remove(provider);
  }

  poll(_now: number): number {
    if (this.closed) return 0;
    const received = this.readable ? this.deliver() : 0;
    return received + this.transmit();
  }

  nextEventAt(): number {
    return !this.closed && (this.readable || (this.tx.pending > 0 && !this.blocked)) ? 0 : Infinity;
  }

  /** Stops watching the fd, closes it, and releases the posted buffers and pending frames. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.io.close();
    this.rx.clear();
    this.tx.clear();
  }

  private readonly onReady = (status: number, events: number): void => {
    this.counters.wakeups++;
    // An error (status < 0) is reported as readiness: the next read or write shows it.
    if (status < 0 || (events & POLL_READABLE) !== 0) this.readable = true;
    if (status < 0 || (events & POLL_WRITABLE) !== 0) {
      this.blocked = false;
      if (!this.closed) this.io.watch(POLL_READABLE);
    }
    this.wake?.();
  };

  /** Reads one burst and hands it over; returns the frames read. */
  private deliver(): number {
    this.rx.refill();
    const n = this.io.receive(this.burst);
    // A short burst drained the fd: wait for libuv to say there is more.
    if (n < this.burst) this.readable = false;
    if (this.rx.readError() !== 0) {
      // A read error other than EAGAIN (EBADFD: the device is gone) would come back at
      // every poll: stop watching the fd; rxErrno says why.
      this.readable = false;
      this.io.watch(0);
    }
    if (n === 0) return 0;
    const burst = this.burstBuf;
    const count = this.rx.collect(n, burst);
    if (count === 0) return n;
    const handler = this.receiver;
    if (handler === null) {
      // No driver bound: dropped, as by an interface that is down.
      for (let i = 0; i < count; i++) burst[i]!.release();
      this.stats.rxDrops += count;
    } else {
      handler(burst, count);
    }
    return n;
  }

  /** Pulls up to a burst from the providers and sends it; returns the frames sent. */
  private transmit(): number {
    if (this.blocked) return 0;
    this.pull();
    if (this.tx.pending === 0) return 0;
    const done = this.tx.send(this.sendFrames);
    if (this.tx.stalled) {
      // EAGAIN: keep what is left, pull nothing more, wait until the fd is writable.
      this.blocked = true;
      this.io.watch(POLL_READABLE | POLL_WRITABLE);
    }
    return done;
  }

  private readonly sendFrames = (frames: number, bufs: (Uint8Array | null)[], nbufs: number): number => this.io.transmit(frames, bufs, nbufs);

  private pull(): void {
    this.providers.pullInto(this.tx);
  }
}
