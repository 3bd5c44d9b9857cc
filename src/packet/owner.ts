/**
 * Who frees a packet's memory. A packet holds one `Owner`; `share()` turns it into a
 * `SharedOwner` whose count of views makes the release fire exactly once, when the
 * last view is released (Seastar's deleter, without the virtual call chain).
 */

import type { FramePool } from './pool.js';

export interface Owner {
  release(): void;
}

/** Returns one pool slot. */
export class SlotOwner implements Owner {
  constructor(
    readonly pool: FramePool,
    readonly slot: number,
  ) {}

  release(): void {
    this.pool.release(this.slot);
  }
}

/** Calls a function once. */
export class CallbackOwner implements Owner {
  private fn: (() => void) | null;

  constructor(fn: () => void) {
    this.fn = fn;
  }

  release(): void {
    const fn = this.fn;
    this.fn = null;
    fn?.();
  }
}

/**
 * Releases several owners (a packet made of pieces from different places: a header
 * frame and payload views, or reassembled fragments). A flat list, released in a loop,
 * so a packet of thousands of pieces neither recurses nor leaks.
 */
export class MultiOwner implements Owner {
  readonly owners: Owner[];

  constructor(...owners: Owner[]) {
    this.owners = owners;
  }

  release(): void {
    // Called once (a packet releases its owner once; views go through SharedOwner).
    const list = this.owners;
    for (let i = 0; i < list.length; i++) list[i]!.release();
  }
}

/** A reference count over an owner: the inner release fires when the count reaches 0. */
export class SharedOwner implements Owner {
  private refs = 1;

  constructor(private readonly inner: Owner) {}

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) this.inner.release();
  }

  get references(): number {
    return this.refs;
  }
}

export function combineOwners(a: Owner | null, b: Owner | null): Owner | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a instanceof MultiOwner) {
    if (b instanceof MultiOwner) a.owners.push(...b.owners);
    else a.owners.push(b);
    return a;
  }
  if (b instanceof MultiOwner) {
    b.owners.unshift(a);
    return b;
  }
  return new MultiOwner(a, b);
}
