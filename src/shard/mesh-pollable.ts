/**
 * The mesh in a shard's event loop: each pass reads what other shards sent (messages to
 * `Shard.onMessage`) and publishes what this shard wrote, once per bundle. Between passes
 * the shard's doorbell is armed (its sleeping flag up), so another shard rings it — at
 * most once per pass — and the ring wakes the loop.
 */
import type { Pollable } from '../time/pollable.js';
import type { EventLoop } from '../time/loop.js';
import type { MeshEndpoint } from './mesh.js';
import { MSG_USER, type Shard } from './shard.js';

export class MeshPollable implements Pollable {
  private sleeping = false;
  private readonly onDescriptor = (s: Int32Array, at: number, from: number): void => {
    if (s[at] === MSG_USER) this.shard.onMessage?.(from, s[at + 1]!, s[at + 2]!, s[at + 3]!);
  };
  private readonly woke = (): void => {
    this.sleeping = false;
    this.loop.wake();
  };

  constructor(
    private readonly mesh: MeshEndpoint,
    private readonly shard: Shard,
    private readonly loop: EventLoop,
  ) {}

  poll(): number {
    const n = this.mesh.poll(256, this.onDescriptor);
    this.mesh.flush();
    // The doorbell is armed after every pass, not only after an empty one: the loop may go
    // idle after this pass, and a message published then must wake it.
    if (!this.sleeping) {
      const sleep = this.mesh.sleep();
      if (sleep === null) {
        this.loop.wake(); // more is waiting: another pass
      } else {
        this.sleeping = true;
        void sleep.then(this.woke);
      }
    }
    return n;
  }

  /** The shard stops: a sleep in progress ends (it keeps the thread alive while it lasts). */
  close(): void {
    if (this.sleeping) this.mesh.interrupt();
  }

  nextEventAt(): number {
    return this.mesh.pending > 0 ? 0 : Infinity;
  }
}
