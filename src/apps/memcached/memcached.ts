/**
 * A memcached instance: the item store, its counters and settings, shared by every
 * connection's session. Time comes from an injected Clock (DESIGN.md: protocol code never
 * reads the system clock itself); a VirtualClock makes expiry testable to the millisecond.
 */

import { RealClock, type Clock } from '../../time/clock.js';
import { ItemStore } from './store.js';
import { MemcachedStats, type StatsContext } from './stats.js';
import { MemcachedSession, MAX_LINE_BYTES, type SessionOutput, type SessionRouter } from './session.js';
import type { Cache } from './commands.js';

export interface MemcachedOptions {
  /** Bytes all items may take together (memcached -m; default 64 MiB). */
  memoryLimit?: number;
  /** Bytes one item may take, header and key included (memcached -I; default 1 MiB; at most memoryLimit). */
  maxItemSize?: number;
  /** The clock for expiry and stats (default: the real clock). */
  clock?: Clock;
  /** What `version` answers (default "1.6.0-shoal"). */
  version?: string;
  /** The longest "get"/"gets" line with many keys (default 64 KiB; others stop at 2048 bytes). */
  maxGetLineBytes?: number;
  /** One shard of several (sharded.ts): its cas uniques are index, index + count, …, unique over the shards. */
  casSpace?: { index: number; count: number };
}

export const DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024;
export const DEFAULT_MAX_ITEM_SIZE = 1024 * 1024;
export const DEFAULT_MAX_GET_LINE = 64 * 1024;

function positiveInteger(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, not ${v}`);
  return v;
}

export class Memcached implements Cache {
  readonly store: ItemStore;
  readonly stats = new MemcachedStats();
  readonly version: string;
  readonly versionLine: Buffer;
  readonly maxGetLineBytes: number;
  verbosity = 0;
  private readonly clock: Clock;
  private readonly startedMs: number;

  constructor(options: MemcachedOptions = {}) {
    const memoryLimit = positiveInteger('memoryLimit', options.memoryLimit ?? DEFAULT_MEMORY_LIMIT);
    const maxItemSize = positiveInteger('maxItemSize', options.maxItemSize ?? DEFAULT_MAX_ITEM_SIZE);
    this.maxGetLineBytes = Math.max(MAX_LINE_BYTES, positiveInteger('maxGetLineBytes', options.maxGetLineBytes ?? DEFAULT_MAX_GET_LINE));
    this.version = options.version ?? '1.6.0-shoal';
    if (!/^[\x21-\x7e]+$/.test(this.version)) throw new RangeError(`version must be one printable word: ${JSON.stringify(this.version)}`);
    this.versionLine = Buffer.from(`VERSION ${this.version}\r\n`, 'latin1');
    const clock = options.clock ?? new RealClock();
    this.clock = clock;
    this.store = new ItemStore({ memoryLimit, maxItemSize, now: () => clock.epochMs + clock.now(), casSpace: options.casSpace });
    this.startedMs = this.store.now();
  }

  /** A session for a new connection; its replies go to `output` (commands `router` takes are answered elsewhere). Call close() when the connection goes. */
  openSession(output: SessionOutput, router: SessionRouter | null = null): MemcachedSession {
    this.stats.currConnections++;
    this.stats.totalConnections++;
    return new MemcachedSession(this, output, router);
  }

  statsContext(): StatsContext {
    return {
      stats: this.stats,
      store: this.store,
      version: this.version,
      verbosity: this.verbosity,
      nowMs: this.store.now(),
      startedMs: this.startedMs,
    };
  }

  /** The current Unix time in ms, by the injected clock. */
  now(): number {
    return this.clock.epochMs + this.clock.now();
  }
}
