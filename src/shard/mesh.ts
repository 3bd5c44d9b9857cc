/**
 * The mesh: a ring from every shard to every other (single producer, single consumer,
 * ring.ts) and a doorbell per shard (doorbell.ts), in shared memory made once and handed
 * to every shard. A shard's `MeshEndpoint` writes descriptors of four int32 words to any
 * other shard, publishes what it wrote once per bundle (`flush`, at the end of a poll of
 * its loop), and reads what the others sent (`poll`).
 *
 * The same endpoint works for shards on one thread (tests under the virtual clock: the
 * loop polls every endpoint, nobody sleeps) and for shards in workers (an idle shard
 * sleeps on its doorbell with `sleep()`, which the others ring only then).
 */
import { Doorbell } from './doorbell.js';
import { RingConsumer, RingProducer, ringMemory, type RingLayout } from './ring.js';

/** Int32 words per mesh descriptor: what the first word means is the sender's and receiver's business (forward.ts). */
export const MESH_WORDS = 4;

/** Shared memory of a mesh of `shards` shards. */
export interface MeshMemory {
  readonly shards: number;
  /** Descriptors per ring (a power of two). */
  readonly capacity: number;
  /** The ring from shard f to shard t is `rings[f * shards + t]` (null for f = t). */
  readonly rings: readonly (SharedArrayBuffer | ArrayBuffer | null)[];
  readonly bells: readonly SharedArrayBuffer[];
}

/**
 * The mesh's memory; `shared` false only for shards that all live on one thread. Meshes
 * that pass another's `bells` share its doorbells: a shard sleeps on one bell, whichever
 * mesh has something for it.
 */
export function meshMemory(shards: number, capacity = 2048, shared = true, bells?: readonly SharedArrayBuffer[]): MeshMemory {
  if (!Number.isInteger(shards) || shards < 1 || shards > 64) throw new RangeError(`shards must be 1 to 64, not ${shards}`);
  const layout: RingLayout = { capacity, words: MESH_WORDS };
  const rings: (SharedArrayBuffer | ArrayBuffer | null)[] = [];
  for (let f = 0; f < shards; f++) for (let t = 0; t < shards; t++) rings.push(f === t ? null : ringMemory(layout, shared));
  if (bells !== undefined && bells.length !== shards) throw new RangeError(`${bells.length} doorbells for ${shards} shards`);
  return { shards, capacity, rings, bells: bells ?? Array.from({ length: shards }, () => Doorbell.memory()) };
}

export interface MeshCounters {
  /** Descriptors sent and received. */
  sent: number;
  received: number;
  /** Times a send found the ring full (the caller kept or dropped what it was). */
  ringFull: number;
  /** Bundles published, and doorbells rung (only for a sleeping shard). */
  publishes: number;
  doorbells: number;
  /** Times this shard went to sleep on its doorbell. */
  sleeps: number;
}

/** One shard's end of the mesh. */
export class MeshEndpoint {
  readonly shards: number;
  readonly counters: MeshCounters = { sent: 0, received: 0, ringFull: 0, publishes: 0, doorbells: 0, sleeps: 0 };
  private readonly out: (RingProducer | null)[] = [];
  private readonly in: (RingConsumer | null)[] = [];
  private readonly bells: Doorbell[] = [];
  /** Shards whose ring has descriptors written and not yet published. */
  private readonly dirty: Uint8Array;
  private anyDirty = false;
  /** Where polling starts next time, so no sender is always served last. */
  private nextFrom = 0;

  constructor(
    mem: MeshMemory,
    readonly id: number,
  ) {
    const n = mem.shards;
    if (!Number.isInteger(id) || id < 0 || id >= n) throw new RangeError(`shard id must be 0 to ${n - 1}, not ${id}`);
    this.shards = n;
    const layout: RingLayout = { capacity: mem.capacity, words: MESH_WORDS };
    for (let t = 0; t < n; t++) {
      const o = mem.rings[id * n + t];
      this.out.push(o ? new RingProducer(o, layout) : null);
      const i = mem.rings[t * n + id];
      this.in.push(i ? new RingConsumer(i, layout) : null);
      this.bells.push(new Doorbell(mem.bells[t]!));
    }
    this.dirty = new Uint8Array(n);
  }

  /** Room for `n` more descriptors to shard `to` now. */
  hasRoom(to: number, n = 1): boolean {
    const r = this.out[to];
    return r !== null && r !== undefined && r.hasRoom(n);
  }

  /** Writes one descriptor for shard `to` (visible there after `flush`); false when its ring is full. */
  send(to: number, w0: number, w1: number, w2: number, w3: number): boolean {
    const r = this.out[to];
    if (r === null || r === undefined) throw new RangeError(`no ring from shard ${this.id} to shard ${to}`);
    if (!r.push(w0, w1, w2, w3)) {
      this.counters.ringFull++;
      return false;
    }
    this.counters.sent++;
    if (this.dirty[to] === 0) {
      this.dirty[to] = 1;
      this.anyDirty = true;
    }
    return true;
  }

  /** Publishes every ring written since the last flush, and wakes the shards that sleep. */
  flush(): void {
    if (!this.anyDirty) return;
    this.anyDirty = false;
    const c = this.counters;
    for (let t = 0; t < this.shards; t++) {
      if (this.dirty[t] === 0) continue;
      this.dirty[t] = 0;
      this.out[t]!.publish();
      c.publishes++;
      if (this.bells[t]!.ring()) c.doorbells++;
    }
  }

  /** Descriptors written and not yet published (a flush is due). */
  get unflushed(): boolean {
    return this.anyDirty;
  }

  /** Descriptors waiting from any shard. */
  get pending(): number {
    let n = 0;
    for (let f = 0; f < this.shards; f++) n += this.in[f]?.available ?? 0;
    return n;
  }

  /**
   * Reads up to `max` descriptors, taking turns among the senders: `fn` gets the
   * descriptor's words (`slots[at]` to `slots[at + 3]`, valid during the call) and its sender.
   */
  poll(max: number, fn: (slots: Int32Array, at: number, from: number) => void): number {
    let done = 0;
    const n = this.shards;
    const start = this.nextFrom;
    for (let k = 0; k < n && done < max; k++) {
      const f = (start + k) % n;
      const r = this.in[f];
      if (r === null || r === undefined) continue;
      done += r.poll(max - done, fn, f);
    }
    this.nextFrom = (start + 1) % n;
    this.counters.received += done;
    return done;
  }

  /** Ends this shard's own sleep now (it stops): its doorbell rings as another shard's would. */
  interrupt(): void {
    this.bells[this.id]!.ring();
  }

  /**
   * An idle shard in a worker: sleeps until another shard publishes something for it (or
   * `timeoutMs`), without blocking its thread. Null, without sleeping, when something is
   * already waiting (the doorbell's re-check: `waiting` says how much, by default what
   * this endpoint has pending; meshes sharing the bell check theirs too).
   */
  sleep(timeoutMs = Infinity, waiting?: () => number): Promise<boolean> | null {
    const bell = this.bells[this.id]!;
    const seq = bell.prepare();
    if ((waiting === undefined ? this.pending : waiting()) > 0) {
      bell.cancel();
      return null;
    }
    this.counters.sleeps++;
    return bell.wait(seq, timeoutMs);
  }
}
