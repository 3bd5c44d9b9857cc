/**
 * The engine: N shard threads (Seastar's reactors), each running the application module
 * with its own event loop, and the mesh between them (mesh.ts). The main thread starts
 * them, stops them, and reports how it went:
 *
 *   const engine = await launch(new URL('./app.js', import.meta.url), { shards: 2 });
 *   await engine.stop();          // or: engine.stopOnSignals(); await engine.done;
 *
 * Stopping has two phases, as Seastar's: every shard runs its atExit hooks while all
 * still run; when all have, every shard stops its loop and runs its atDestroy hooks. An
 * error thrown in any shard (its module, a hook, a callback) stops all the others the
 * same way, and `done` rejects with that first error, once.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ShardCounters, ToEngine, ToShard } from './engine-messages.js';
import { ringCapacityFor, type SharedPoolInfo } from './forward.js';
import { meshMemory } from './mesh.js';
import type { MemoryNetworkSpec } from './worker-network.js';
import { ListenPorts } from '../stack/ports.js';
import { byteRingMemory } from './byte-ring.js';
import { rpcMemory } from './rpc.js';

export interface LaunchOptions {
  /** Shard threads (default: the number of cores). */
  shards?: number;
  /** Descriptors per mesh ring (default 4096). */
  meshCapacity?: number;
  /** Given to every shard as `shard.data` (anything structured clone takes: SharedArrayBuffers are shared). */
  data?: unknown;
  /**
   * Hosts on a memory link that spans the shards: each host's device has one queue per
   * shard, and shard i runs a stack of every host over its queues i (`shard.hosts`).
   */
  network?: MemoryNetworkSpec;
  /**
   * Bytes of the ring each shard has towards each other for calls with byte payloads
   * (`shard.rpc`; a power of two, the largest payload half of it; default 0: no calls).
   */
  rpcBytes?: number;
  /** How long stopping may take (atExit and atDestroy hooks) before the threads are ended (default 10 s). */
  stopTimeoutMs?: number;
}

type Phase = 'starting' | 'running' | 'exiting' | 'destroying' | 'done';

class ShardThread {
  started = false;
  exited = false;
  destroyed = false;
  /** The thread has ended (normally or by an error). */
  ended = false;
  constructor(
    readonly id: number,
    readonly worker: Worker,
  ) {}
  post(m: ToShard): void {
    if (!this.ended) this.worker.postMessage(m);
  }
}

export class Engine {
  /** Resolves when every shard has stopped cleanly; rejects with the first error any shard threw. */
  readonly done: Promise<void>;
  /** The exit code a shard asked for with `Shard.stop(code)` (0 otherwise). */
  exitCode = 0;
  private phase: Phase = 'starting';
  private readonly threads: ShardThread[] = [];
  private firstError: unknown = null;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  private startedResolve!: (ok: boolean) => void;
  private readonly started: Promise<boolean>;
  private signalHandler: (() => void) | null = null;
  private stopTimer: NodeJS.Timeout | null = null;
  /** Each shard's network pools (by host), until every shard has sent them. */
  private readonly pools: (SharedPoolInfo[][] | null)[];
  private nextQuery = 0;
  private readonly queries = new Map<number, { left: number; got: ShardCounters[]; resolve: (c: ShardCounters[]) => void; reject: (e: Error) => void }>();

  private constructor(
    moduleUrl: string,
    readonly shards: number,
    capacity: number,
    data: unknown,
    private readonly stopTimeoutMs: number,
    network: MemoryNetworkSpec | undefined,
    rpcBytes: number,
  ) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    // `done` may be awaited only after launch: keep an early rejection from being "unhandled".
    this.done.catch(() => {});
    this.started = new Promise<boolean>((resolve) => (this.startedResolve = resolve));
    const mesh = meshMemory(shards, capacity);
    this.pools = new Array<null>(shards).fill(null);
    // A mesh per host for its forwarded frames, sharing the shards' doorbells.
    const net =
      network === undefined
        ? null
        : {
            spec: network,
            meshes: network.hosts.map((h) => meshMemory(shards, ringCapacityFor(h.maxInFlight ?? 1000), true, mesh.bells)),
            listenMemory: network.hosts.map(() => ListenPorts.memory()),
          };
    const rpc = rpcBytes > 0 && shards > 1 ? rpcMemory(shards, rpcBytes) : null;
    for (let id = 0; id < shards; id++) {
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { moduleUrl, id, count: shards, mesh, data, network: net, rpc } });
      const t = new ShardThread(id, worker);
      this.threads.push(t);
      worker.on('message', (m: ToEngine) => this.onMessage(t, m));
      worker.on('error', (e) => this.failed(e));
      worker.on('exit', (code) => this.onThreadEnd(t, code));
    }
  }

  /** Starts `shards` threads, each importing `moduleUrl` and calling its default export with its Shard; resolves once every one has returned. */
  static async launch(moduleUrl: string | URL, options: LaunchOptions = {}): Promise<Engine> {
    const shards = options.shards ?? availableParallelism();
    if (!Number.isInteger(shards) || shards < 1 || shards > 64) throw new RangeError(`shards must be 1 to 64, not ${shards}`);
    const rpcBytes = options.rpcBytes ?? 0;
    if (rpcBytes !== 0) byteRingMemory(rpcBytes); // checks the size here, in one line, before any thread starts
    const engine = new Engine(String(moduleUrl), shards, options.meshCapacity ?? 4096, options.data, options.stopTimeoutMs ?? 10_000, options.network, rpcBytes);
    if (!(await engine.started)) {
      await engine.done; // rejects with the error that stopped the start
    }
    return engine;
  }

  /** Stops every shard (atExit everywhere, then atDestroy); resolves when all have ended. */
  async stop(): Promise<void> {
    this.beginStop();
    await this.done;
  }

  /** Every shard's counters (mesh; each host's queue, steering, forwarding and stack), shard 0 first. */
  counters(): Promise<ShardCounters[]> {
    const live = this.threads.filter((t) => !t.ended);
    if (this.phase !== 'running' || live.length < this.shards) return Promise.reject(new Error(`the shards are not running (${this.phase})`));
    const id = this.nextQuery++;
    return new Promise((resolve, reject) => {
      this.queries.set(id, { left: live.length, got: [], resolve, reject });
      for (const t of live) t.post({ type: 'counters', id });
    });
  }

  /** Ctrl-C (SIGINT) and SIGTERM stop every shard cleanly; a second one ends the threads at once. */
  stopOnSignals(): void {
    if (this.signalHandler !== null) return;
    let count = 0;
    this.signalHandler = () => {
      if (++count === 1) this.beginStop();
      else for (const t of this.threads) void t.worker.terminate();
    };
    process.on('SIGINT', this.signalHandler);
    process.on('SIGTERM', this.signalHandler);
  }

  private onMessage(t: ShardThread, m: ToEngine): void {
    switch (m.type) {
      case 'pools':
        this.pools[t.id] = m.pools;
        if (this.pools.every((p) => p !== null)) {
          const byHost = this.pools[0]!.map((_, h) => this.pools.map((p) => p![h]!));
          for (const x of this.threads) x.post({ type: 'network', pools: byHost });
        }
        return;
      case 'counters': {
        const q = this.queries.get(m.id);
        if (q === undefined) return;
        q.got.push(m.counters);
        if (--q.left === 0) {
          this.queries.delete(m.id);
          q.resolve(q.got.sort((a, b) => a.shard - b.shard));
        }
        return;
      }
      case 'started':
        t.started = true;
        if (this.phase === 'starting' && this.threads.every((x) => x.started)) {
          this.phase = 'running';
          this.startedResolve(true);
        }
        return;
      case 'stop':
        if (m.code !== 0 && this.exitCode === 0) this.exitCode = m.code;
        this.beginStop();
        return;
      case 'exited':
        t.exited = true;
        this.advance();
        return;
    }
  }

  private failed(e: unknown): void {
    if (this.firstError === null) this.firstError = e ?? new Error('a shard failed');
    this.beginStop();
  }

  private onThreadEnd(t: ShardThread, code: number): void {
    t.ended = true;
    // A shard ends itself with code 0 right after its atDestroy hooks.
    if (this.phase === 'destroying' && code === 0) t.destroyed = true;
    if (!t.destroyed && this.firstError === null) {
      this.firstError = new Error(this.phase === 'running' || this.phase === 'starting' ? `shard ${t.id} ended before it was stopped (exit code ${code})` : `shard ${t.id} ended with exit code ${code} while stopping`);
    }
    if (this.phase !== 'done') this.beginStop();
    this.advance();
  }

  private beginStop(): void {
    if (this.phase === 'starting' || this.phase === 'running') {
      this.phase = 'exiting';
      this.startedResolve(false);
      for (const t of this.threads) t.post({ type: 'exit' });
      // A hook that never settles must not hold the process forever.
      this.stopTimer = setTimeout(() => {
        if (this.firstError === null) this.firstError = new Error(`the shards did not stop within ${this.stopTimeoutMs} ms (a hook that never settles?): ended`);
        for (const t of this.threads) if (!t.ended) void t.worker.terminate();
      }, this.stopTimeoutMs);
    }
    this.advance();
  }

  /** The next phase once every live thread has finished this one. */
  private advance(): void {
    if (this.phase === 'exiting' && this.threads.every((t) => t.exited || t.ended)) {
      this.phase = 'destroying';
      for (const t of this.threads) t.post({ type: 'destroy' });
    }
    if (this.phase === 'destroying' && this.threads.every((t) => t.ended)) {
      this.phase = 'done';
      for (const q of this.queries.values()) q.reject(new Error('the shards stopped before all of them reported their counters'));
      this.queries.clear();
      if (this.stopTimer !== null) clearTimeout(this.stopTimer);
      if (this.signalHandler !== null) {
        process.off('SIGINT', this.signalHandler);
        process.off('SIGTERM', this.signalHandler);
      }
      if (this.firstError !== null) this.settle.reject(this.firstError);
      else this.settle.resolve();
    }
  }
}

/** Starts the engine: see `Engine.launch`. */
export const launch = Engine.launch;
