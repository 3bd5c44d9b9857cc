/** A test application for tap-shards.test.ts: shard 1 throws once its TAP queue is up; the engine must end every shard and let go of the TAP. */
import type { Shard } from '../../../src/shard/shard.js';

export default function tapThrow(shard: Shard): void {
  shard.net.createServer(() => {}).listen(7);
  if (shard.id === 1) setTimeout(() => {
    throw new Error('shard 1 failed on purpose, holding a TAP queue');
  }, 100);
}
