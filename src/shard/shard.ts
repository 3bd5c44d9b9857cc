/**
 * What an application module gets in each shard (Seastar's per-core world): its id and
 * the shard count, its event loop, its stack of each host on the network (`net`, `dgram`
 * of the first), messages and calls with byte payloads (`rpc`) to other shards over the
 * mesh, and the lifecycle hooks. `atExit` hooks run while every shard still runs (they may still use
 * sockets and talk to other shards); `atDestroy` hooks run after every shard has stopped
 * (free shared memory, close devices). Both run in the reverse order of registration,
 * awaited one by one.
 */
import type { Host } from '../api/host.js';
import type { Dgram } from '../api/dgram/index.js';
import type { Net } from '../api/net/index.js';
import type { CompletionQueue, CompletionQueueOptions } from '../api/zero-copy/index.js';
import type { EventLoop } from '../time/loop.js';
import type { MeshEndpoint } from './mesh.js';
import type { ShardRpc } from './rpc.js';

/** Mesh descriptor kinds from 16 up are the engine's and applications' (below: frame forwarding, forward.ts). */
export const MSG_USER = 16;

export type Hook = () => void | Promise<void>;

export class Shard {
  /** A message from another shard: its id and the three numbers it sent. */
  onMessage: ((from: number, a: number, b: number, c: number) => void) | null = null;
  private readonly exitHooks: Hook[] = [];
  private readonly destroyHooks: Hook[] = [];

  constructor(
    readonly id: number,
    readonly count: number,
    readonly loop: EventLoop,
    readonly mesh: MeshEndpoint,
    private readonly requestStop: (code: number) => void,
    /** What `launch` was given as `data`, for every shard. */
    readonly data: unknown = undefined,
    /** This shard's stack of each host of the network `launch` was given, by name. */
    readonly hosts: Readonly<Record<string, Host>> = {},
    /** Calls with byte payloads to other shards (launch's `rpcBytes`), or null. */
    readonly rpc: ShardRpc | null = null,
  ) {}

  /** The first host's stack on this shard (throws without a network). */
  get host(): Host {
    const first = Object.values(this.hosts)[0];
    if (first === undefined) throw new Error('this engine has no network: give launch() a `network` with at least one host');
    return first;
  }

  /** The node:net-compatible API of the first host, on this shard. */
  get net(): Net {
    return this.host.net;
  }

  /** The node:dgram-compatible API of the first host, on this shard. */
  get dgram(): Dgram {
    return this.host.dgram;
  }

  /** A zero-copy completion queue on the first host's stack of this shard (libVMA's SocketXtreme model). */
  completions(options?: CompletionQueueOptions): CompletionQueue {
    return this.host.completions(options);
  }

  /** Runs `fn` when the engine stops, while every shard still runs. */
  atExit(fn: Hook): void {
    this.exitHooks.push(fn);
  }

  /** Runs `fn` after every shard has stopped. */
  atDestroy(fn: Hook): void {
    this.destroyHooks.push(fn);
  }

  /**
   * Sends three int32 numbers to shard `to`; they leave at the end of this loop pass (one
   * bundle per shard). False when the ring to it is full: try again later.
   */
  send(to: number, a: number, b = 0, c = 0): boolean {
    if (to === this.id || !(to >= 0 && to < this.count)) throw new RangeError(`no shard ${to} to send to (shards 0..${this.count - 1}, this is ${this.id})`);
    const ok = this.mesh.send(to, MSG_USER, a | 0, b | 0, c | 0);
    if (ok) this.loop.wake();
    return ok;
  }

  /** Asks the engine to stop every shard (atExit everywhere, then atDestroy). */
  stop(code = 0): void {
    this.requestStop(code);
  }

  /** @internal The engine runs the hooks. */
  async runHooks(which: 'exit' | 'destroy'): Promise<void> {
    const list = which === 'exit' ? this.exitHooks : this.destroyHooks;
    for (let i = list.length - 1; i >= 0; i--) await list[i]!();
  }
}
