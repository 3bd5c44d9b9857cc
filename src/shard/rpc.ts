/**
 * Calls between shards with byte payloads (Seastar's `invoke_on` for data, not closures):
 * a shard sends another a request of any bytes and gets its reply's bytes back, in a
 * callback. Payloads go through a byte ring per ordered pair of shards (byte-ring.ts),
 * copied once in and once out; the descriptors naming them go on the mesh (kinds
 * MSG_CALL, MSG_REPLY), so they leave in the same bundles as everything else and wake a
 * sleeping shard the same way.
 *
 * Bounded: a call or reply that finds its ring (or the mesh) full waits in a backlog per
 * destination, in order, retried each pass; a backlog holds at most `maxBacklog`, past
 * which `call` refuses (false) — the caller decides, as with a full socket.
 */
import { ByteRingReader, ByteRingWriter, byteRingMemory, type ByteRingMemory } from './byte-ring.js';
import type { MeshEndpoint } from './mesh.js';

/** Mesh descriptor kinds (the engine's, below MSG_USER): [kind, call id, offset, length]. */
export const MSG_CALL = 8;
export const MSG_REPLY = 9;

/** The byte rings between every pair of shards: `rings[from * shards + to]` (null for from = to). */
export interface RpcMemory {
  readonly shards: number;
  readonly rings: readonly (ByteRingMemory | null)[];
}

export function rpcMemory(shards: number, ringBytes: number): RpcMemory {
  const rings: (ByteRingMemory | null)[] = [];
  for (let f = 0; f < shards; f++) for (let t = 0; t < shards; t++) rings.push(f === t ? null : byteRingMemory(ringBytes));
  return { shards, rings };
}

export interface RpcCounters {
  /** Calls sent and their replies received; calls received and answered. */
  calls: number;
  replies: number;
  served: number;
  answered: number;
  /** Sends that had to wait for room (ring or mesh full), and calls refused with the backlog full. */
  waited: number;
  refused: number;
  /** Descriptors that named no valid payload, or replies to no call: counted and dropped. */
  errors: number;
}

type Send = { to: number; kind: number; id: number; payload: Uint8Array };

export class ShardRpc {
  readonly counters: RpcCounters = { calls: 0, replies: 0, served: 0, answered: 0, waited: 0, refused: 0, errors: 0 };
  /** Serves a call from shard `from`: answer once with `reply` (now or later). */
  onCall: ((from: number, payload: Uint8Array, reply: (bytes: Uint8Array) => void) => void) | null = null;
  private readonly writers: (ByteRingWriter | null)[] = [];
  private readonly readers: (ByteRingReader | null)[] = [];
  private readonly waiting = new Map<number, (reply: Uint8Array) => void>();
  private readonly backlog: Send[][] = [];
  private nextId = 1;

  constructor(
    memory: RpcMemory,
    readonly id: number,
    private readonly mesh: MeshEndpoint,
    /** Something was written outside a loop pass: the loop must run to publish it. */
    private readonly wake: () => void,
    private readonly maxBacklog = 4096,
  ) {
    const n = memory.shards;
    for (let t = 0; t < n; t++) {
      const out = memory.rings[id * n + t];
      const inn = memory.rings[t * n + id];
      this.writers.push(out ? new ByteRingWriter(out) : null);
      this.readers.push(inn ? new ByteRingReader(inn) : null);
      this.backlog.push([]);
    }
  }

  /** The largest payload a call or reply may have. */
  get maxPayload(): number {
    return this.writers.find((w) => w !== null)?.maxPayload ?? 0;
  }

  /** Calls waiting for their reply. */
  get outstanding(): number {
    return this.waiting.size;
  }

  /** Sends `payload` to shard `to`; `done` gets the reply. False (nothing sent) when the backlog to it is full. */
  call(to: number, payload: Uint8Array, done: (reply: Uint8Array) => void): boolean {
    if (to === this.id || this.writers[to] === null || this.writers[to] === undefined) throw new RangeError(`no shard ${to} to call from shard ${this.id}`);
    if (payload.length > this.maxPayload) throw new RangeError(`a call of ${payload.length} bytes is more than the rings take (${this.maxPayload})`);
    if (this.backlog[to]!.length >= this.maxBacklog) {
      this.counters.refused++;
      return false;
    }
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fff_ffff ? 1 : this.nextId + 1;
    this.waiting.set(id, done);
    this.counters.calls++;
    this.send({ to, kind: MSG_CALL, id, payload });
    return true;
  }

  /** A descriptor of kind MSG_CALL or MSG_REPLY from shard `from` (the mesh's reader hands them here). */
  handle(s: Int32Array, at: number, from: number): void {
    const kind = s[at]!;
    const id = s[at + 1]!;
    let payload: Uint8Array;
    try {
      payload = this.readers[from]!.read(s[at + 2]!, s[at + 3]!);
    } catch {
      this.counters.errors++;
      return;
    }
    if (kind === MSG_CALL) {
      this.counters.served++;
      let answered = false;
      const reply = (bytes: Uint8Array): void => {
        if (answered) throw new Error('a call is answered once');
        answered = true;
        if (bytes.length > this.maxPayload) throw new RangeError(`a reply of ${bytes.length} bytes is more than the rings take (${this.maxPayload})`);
        this.counters.answered++;
        this.send({ to: from, kind: MSG_REPLY, id, payload: bytes });
      };
      if (this.onCall !== null) this.onCall(from, payload, reply);
      else reply(new Uint8Array(0));
      return;
    }
    const done = this.waiting.get(id);
    if (done === undefined) {
      this.counters.errors++;
      return;
    }
    this.waiting.delete(id);
    this.counters.replies++;
    done(payload);
  }

  /** Sends what waited for room, in order (each pass of the loop, before the mesh is flushed). */
  flush(): void {
    for (let to = 0; to < this.backlog.length; to++) {
      const q = this.backlog[to]!;
      let k = 0;
      while (k < q.length && this.trySend(q[k]!)) k++;
      if (k > 0) q.splice(0, k);
    }
  }

  /** Sends waiting for room. */
  get backlogged(): number {
    let n = 0;
    for (const q of this.backlog) n += q.length;
    return n;
  }

  private send(m: Send): void {
    const q = this.backlog[m.to]!;
    if (q.length === 0 && this.trySend(m)) {
      this.wake();
      return;
    }
    this.counters.waited++;
    q.push(m);
  }

  private trySend(m: Send): boolean {
    if (!this.mesh.hasRoom(m.to)) return false;
    const payload = m.payload;
    const at = this.writers[m.to]!.write(payload.length, (dst, o) => dst.set(payload, o));
    if (at < 0) return false;
    this.mesh.send(m.to, m.kind, m.id, at, payload.length);
    return true;
  }
}
