/**
 * The mesh in a shard's event loop: each pass reads what other shards sent (messages to
 * `Shard.onMessage`, once the application is `reading`) and publishes what this shard
 * wrote, once per bundle. Between passes the shard's doorbell is armed (its sleeping flag
 * up), so another shard rings it — at most once per pass — and the ring wakes the loop.
 * The network's meshes share the doorbell (worker-network.ts): frames forwarded to this
 * shard ring it too, and count in the re-check before sleeping.
 */
import type { Pollable } from '../time/pollable.js';
import type { EventLoop } from '../time/loop.js';
import type { MeshEndpoint } from './mesh.js';
import { MSG_USER, type Shard } from './shard.js';
import { MSG_CALL, MSG_REPLY } from './rpc.js';

export class MeshPollable implements Pollable {
  /** Messages are read (and given to `Shard.onMessage`) only once the application has started. */
  reading = false;
  private sleeping = false;
  private readonly onDescriptor = (s: Int32Array, at: number, from: number): void => {
    const kind = s[at];
    if (kind === MSG_USER) this.shard.onMessage?.(from, s[at + 1]!, s[at + 2]!, s[at + 3]!);
    else if (kind === MSG_CALL || kind === MSG_REPLY) this.shard.rpc?.handle(s, at, from);
  };
  private lastNow = 0;
  private readonly woke = (): void => {
    this.sleeping = false;
    this.loop.wake();
  };
  private readonly waiting = (): number => (this.reading ? this.mesh.pending : 0) + (this.network?.pending ?? 0);

  constructor(
    private readonly mesh: MeshEndpoint,
    private readonly shard: Shard,
    private readonly loop: EventLoop,
    /** The shard's part of the network, whose forwarded frames also wake it. */
    private readonly network: { readonly pending: number } | null = null,
  ) {}

  poll(now: number): number {
    this.lastNow = now;
    const n = this.reading ? this.mesh.poll(256, this.onDescriptor) : 0;
    this.shard.rpc?.flush();
    this.mesh.flush();
    // The doorbell is armed after every pass, not only after an empty one: the loop may go
    // idle after this pass, and a message published then must wake it.
    if (!this.sleeping) {
      const sleep = this.mesh.sleep(Infinity, this.waiting);
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
    if (this.reading && this.mesh.pending > 0) return 0;
    // Calls waiting for room in a ring: the other shard frees it without telling, so look again soon.
    return (this.shard.rpc?.backlogged ?? 0) > 0 ? this.lastNow + 1 : Infinity;
  }
}
