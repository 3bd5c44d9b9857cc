/**
 * A growable FIFO (circular buffer): frames in flight on a medium, ready lists. It grows
 * by doubling and never shrinks, so a steady flow allocates nothing; a shifted slot is
 * cleared, so the ring keeps nothing alive.
 */

export class Fifo<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(16);
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(x: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = x;
    this.count++;
  }

  /** The oldest item, or undefined. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const x = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return x;
  }

  /** Empties it, calling `each` on every item, oldest first. */
  clear(each?: (x: T) => void): void {
    while (this.count > 0) {
      const x = this.shift()!;
      each?.(x);
    }
  }

  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.items = next;
    this.head = 0;
  }
}
