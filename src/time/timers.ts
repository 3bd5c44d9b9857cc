/**
 * Timers for one shard: an indexed binary min-heap of `Timer` objects. A timer is an
 * object the protocol keeps and re-arms (a connection's RTO timer is armed and moved
 * on every ACK), so arming and cancelling are O(log n) with no allocation, and the
 * heap can say when the next timer is due (`nextDue()`), which is how the shard knows
 * when to poll next instead of waking at a fixed tick.
 *
 * Timers due at the same time fire in the order they were armed (deterministic runs).
 */

export class Timer {
  /** Position in the heap, or -1 when not armed. */
  index = -1;
  due = 0;
  seq = 0;

  constructor(readonly callback: (now: number) => void) {}

  get armed(): boolean {
    return this.index >= 0;
  }
}

export class TimerSet {
  private readonly heap: Timer[] = [];
  private seq = 0;
  private fired = 0;

  get size(): number {
    return this.heap.length;
  }

  get firedCount(): number {
    return this.fired;
  }

  /** A new (unarmed) timer. */
  create(callback: (now: number) => void): Timer {
    return new Timer(callback);
  }

  /** Arms `timer` for time `due`, moving it if it was armed already. */
  arm(timer: Timer, due: number): void {
    if (Number.isNaN(due)) throw new RangeError('timer due time is NaN');
    timer.due = due;
    timer.seq = this.seq++;
    if (timer.index >= 0) {
      this.down(this.up(timer.index));
    } else {
      timer.index = this.heap.length;
      this.heap.push(timer);
      this.up(timer.index);
    }
  }

  /** A one-shot timer for `due`, for code that has no timer of its own to keep. */
  schedule(due: number, callback: (now: number) => void): Timer {
    const t = new Timer(callback);
    this.arm(t, due);
    return t;
  }

  cancel(timer: Timer): void {
    const i = timer.index;
    if (i < 0) return;
    const last = this.heap.pop()!;
    timer.index = -1;
    if (last !== timer) {
      this.heap[i] = last;
      last.index = i;
      this.down(this.up(i));
    }
  }

  /** When the earliest timer is due, or Infinity when none is armed. */
  nextDue(): number {
    return this.heap.length > 0 ? this.heap[0]!.due : Infinity;
  }

  /** Fires every timer due at or before `now`, earliest first; returns how many fired. */
  runDue(now: number): number {
    let n = 0;
    while (this.heap.length > 0 && this.heap[0]!.due <= now) {
      const t = this.heap[0]!;
      this.cancel(t);
      n++;
      this.fired++;
      t.callback(now);
    }
    return n;
  }

  private before(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private up(i: number): number {
    const h = this.heap;
    const t = h[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!this.before(t, p)) break;
      h[i] = p;
      p.index = i;
      i = parent;
    }
    h[i] = t;
    t.index = i;
    return i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.before(h[child + 1]!, h[child]!)) child++;
      const c = h[child]!;
      if (!this.before(c, t)) break;
      h[i] = c;
      c.index = i;
      i = child;
    }
    h[i] = t;
    t.index = i;
  }
}
