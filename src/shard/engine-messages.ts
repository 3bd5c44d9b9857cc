/** What the engine (engine.ts) and a shard's thread (worker.ts) tell each other: rare control, not data. */
import type { MeshCounters } from './mesh.js';
import type { SharedPoolInfo } from './forward.js';
import type { ShardHostCounters } from './worker-network.js';

/** What a shard counts: its mesh (messages between shards) and, with a network, each host's queue, steering, forwarding and stack. */
export interface ShardCounters {
  shard: number;
  mesh: MeshCounters;
  hosts: ShardHostCounters[];
}

/**
 * From the engine: every shard's pools, by host then shard (once all have made theirs);
 * run the atExit hooks; then (after every shard exited) stop and run atDestroy; report
 * the counters (answered with the same `id`).
 */
export type ToShard =
  | { type: 'network'; pools: SharedPoolInfo[][][] }
  | { type: 'exit' }
  | { type: 'destroy' }
  | { type: 'counters'; id: number };

/**
 * From a shard: its network's pools (by host); its module's function returned; its
 * atExit hooks are done; the application asked to stop all shards; its counters. (After
 * atDestroy a shard's thread just ends, code 0.)
 */
export type ToEngine =
  | { type: 'pools'; pools: SharedPoolInfo[][] }
  | { type: 'started' }
  | { type: 'exited' }
  | { type: 'stop'; code: number }
  | { type: 'counters'; id: number; counters: ShardCounters };
