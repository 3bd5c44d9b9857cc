/**
 * For engine.test.ts: a process that launches two shards of the lifecycle app, stops on
 * Ctrl-C, and prints the log once every shard has stopped.
 */
import { launch } from '../../../src/shard/engine.js';
import { logEntries, type LifecycleData } from './lifecycle.js';

const log = new SharedArrayBuffer(4 * 256);
const engine = await launch(new URL('./lifecycle.js', import.meta.url), { shards: 2, data: { log } satisfies LifecycleData });
engine.stopOnSignals();
process.stdout.write('ready\n');
await engine.done;
process.stdout.write(`log ${logEntries(log).join(',')}\n`);
