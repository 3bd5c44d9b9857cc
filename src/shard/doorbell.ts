/**
 * How a shard sleeps until another shard has published something for it, and how the
 * others wake it only then. Waking costs far more than a ring write (measured on this
 * 2-core VM: ~9–16 µs for a thread parked in Atomics.wait, 16–23 µs with waitAsync; ringing
 * on every bundle cost 2–3× in throughput at one descriptor per bundle), so:
 *
 * - the consumer reads the doorbell's sequence number, raises its `sleeping` flag, looks
 *   at its rings once more, and only if they are all empty waits for the sequence number
 *   to change (`prepare` → re-check → `wait`, or `cancel` when there was work);
 * - a producer, after publishing, rings only when the flag is up, and the first to see
 *   it up takes it down (compare-and-exchange), so N producers ring once, not N times.
 *
 * Either the consumer's re-check sees the producer's tail, or the producer sees the flag:
 * both sides store, then load, with sequentially consistent Atomics. A shard that also
 * does I/O must not block its event loop, so `wait` is Atomics.waitAsync; a pending
 * waitAsync does not keep a worker alive (measured), which the engine handles.
 */

/** Int32 indices: the flag and the sequence number on lines of their own. */
const SLEEPING = 0;
const SEQ = 16;
const WORDS = 32;

/** The keep-alive timer's period: long, it only has to exist. */
const KEEP_ALIVE_MS = 1 << 30;
const noop = (): void => {};

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
// Atomics.waitAsync is in Node 20 (V8); its type is in lib ES2024, this project compiles against ES2022.
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, timeout?: number): WaitAsyncResult }).waitAsync;

export class Doorbell {
  private readonly word: Int32Array;
  /** Times this side rang (producers) — for counters. */
  rung = 0;

  /** Memory for one doorbell (shared by the consumer and all its producers). */
  static memory(): SharedArrayBuffer {
    return new SharedArrayBuffer(4 * WORDS);
  }

  constructor(memory: SharedArrayBuffer) {
    this.word = new Int32Array(memory, 0, WORDS);
  }

  // ------------------------------------------------------------ the consumer

  /** Raises the sleeping flag; returns the sequence number to `wait` on. Re-check the rings after this. */
  prepare(): number {
    const seq = Atomics.load(this.word, SEQ);
    Atomics.store(this.word, SLEEPING, 1);
    return seq;
  }

  /** There was work after all: the flag comes down, no wait. */
  cancel(): void {
    Atomics.store(this.word, SLEEPING, 0);
  }

  /**
   * Waits (without blocking the thread) until a producer rings after `prepare` returned
   * `seq`, or `timeoutMs` passes (Infinity: no limit). Resolves true when rung.
   */
  async wait(seq: number, timeoutMs = Infinity): Promise<boolean> {
    const r = waitAsync(this.word, SEQ, seq, timeoutMs);
    let v: string;
    if (r.async) {
      // A pending waitAsync does not keep a thread alive (measured): a ref'd timer does,
      // for as long as the wait lasts.
      const alive = setInterval(noop, KEEP_ALIVE_MS);
      try {
        v = await r.value;
      } finally {
        clearInterval(alive);
      }
    } else {
      v = r.value;
    }
    Atomics.store(this.word, SLEEPING, 0);
    return v !== 'timed-out';
  }

  /** Blocks the thread until rung (for a thread that has nothing else to do), or `timeoutMs`. */
  waitSync(seq: number, timeoutMs = Infinity): boolean {
    const v = Atomics.wait(this.word, SEQ, seq, timeoutMs);
    Atomics.store(this.word, SLEEPING, 0);
    return v !== 'timed-out';
  }

  // ------------------------------------------------------------ a producer

  /** After publishing: wakes the consumer if it sleeps (once for all producers). True when it rang. */
  ring(): boolean {
    if (Atomics.load(this.word, SLEEPING) === 0 || Atomics.compareExchange(this.word, SLEEPING, 1, 0) !== 1) return false;
    Atomics.add(this.word, SEQ, 1);
    Atomics.notify(this.word, SEQ);
    this.rung++;
    return true;
  }
}
