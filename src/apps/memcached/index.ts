export { Memcached, type MemcachedOptions, DEFAULT_MEMORY_LIMIT, DEFAULT_MAX_ITEM_SIZE, DEFAULT_MAX_GET_LINE } from './memcached.js';
export { MemcachedSession, MAX_LINE_BYTES, type SessionOutput } from './session.js';
export { serveMemcached, type ServeMemcachedOptions } from './server.js';
export { ItemStore, Item, itemSize, type StoreMode, type StoreOutcome } from './store.js';
export { MemcachedStats } from './stats.js';
export { ShardedMemcached, keyHash } from './sharded.js';
