/** What the engine (engine.ts) and a shard's thread (worker.ts) tell each other: rare control, not data. */

/** From the engine: run the atExit hooks; then (after every shard exited) stop and run atDestroy. */
export type ToShard = { type: 'exit' } | { type: 'destroy' };

/**
 * From a shard: its module's function returned; its atExit hooks are done; the
 * application asked to stop all shards. (After atDestroy a shard's thread just ends, code 0.)
 */
export type ToEngine = { type: 'started' } | { type: 'exited' } | { type: 'stop'; code: number };
