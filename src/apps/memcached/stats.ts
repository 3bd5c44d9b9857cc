/**
 * The counters behind `stats` and the replies to `stats` and `stats settings`
 * (protocol.txt, "General-purpose statistics"; names and order as memcached 1.6 prints them).
 */

import type { ItemStore } from './store.js';

export class MemcachedStats {
  currConnections = 0;
  totalConnections = 0;
  /** Keys asked for by get, gets, gat and gats. */
  cmdGet = 0;
  /** Storage commands whose data block arrived. */
  cmdSet = 0;
  cmdFlush = 0;
  /** touch commands and keys asked for by gat/gats. */
  cmdTouch = 0;
  getHits = 0;
  getMisses = 0;
  getExpired = 0;
  deleteMisses = 0;
  deleteHits = 0;
  incrMisses = 0;
  incrHits = 0;
  decrMisses = 0;
  decrHits = 0;
  casMisses = 0;
  casHits = 0;
  casBadval = 0;
  touchHits = 0;
  touchMisses = 0;
  storeTooLarge = 0;
  bytesRead = 0;
  bytesWritten = 0;

  /** `stats reset`: every counter but the current connections. */
  reset(): void {
    const keep = this.currConnections;
    Object.assign(this, new MemcachedStats());
    this.currConnections = keep;
  }
}

export interface StatsContext {
  stats: MemcachedStats;
  store: ItemStore;
  version: string;
  verbosity: number;
  /** Unix ms now and when the cache started. */
  nowMs: number;
  startedMs: number;
}

/** "%ld.%06ld" seconds of CPU time, as memcached prints rusage. */
function cpuSeconds(micros: number): string {
  const s = Math.floor(micros / 1e6);
  return `${s}.${String(micros - s * 1e6).padStart(6, '0')}`;
}

function lines(pairs: ReadonlyArray<readonly [string, string | number]>): string {
  let out = '';
  for (const [name, value] of pairs) out += `STAT ${name} ${value}\r\n`;
  return out + 'END\r\n';
}

/** The reply to `stats` without arguments. */
export function generalStats(c: StatsContext): string {
  const s = c.stats;
  const usage = process.resourceUsage();
  return lines([
    ['pid', process.pid],
    ['uptime', Math.floor((c.nowMs - c.startedMs) / 1000)],
    ['time', Math.floor(c.nowMs / 1000)],
    ['version', c.version],
    ['pointer_size', 64],
    ['rusage_user', cpuSeconds(usage.userCPUTime)],
    ['rusage_system', cpuSeconds(usage.systemCPUTime)],
    ['curr_connections', s.currConnections],
    ['total_connections', s.totalConnections],
    ['cmd_get', s.cmdGet],
    ['cmd_set', s.cmdSet],
    ['cmd_flush', s.cmdFlush],
    ['cmd_touch', s.cmdTouch],
    ['get_hits', s.getHits],
    ['get_misses', s.getMisses],
    ['get_expired', s.getExpired],
    ['delete_misses', s.deleteMisses],
    ['delete_hits', s.deleteHits],
    ['incr_misses', s.incrMisses],
    ['incr_hits', s.incrHits],
    ['decr_misses', s.decrMisses],
    ['decr_hits', s.decrHits],
    ['cas_misses', s.casMisses],
    ['cas_hits', s.casHits],
    ['cas_badval', s.casBadval],
    ['touch_hits', s.touchHits],
    ['touch_misses', s.touchMisses],
    ['store_too_large', s.storeTooLarge],
    ['bytes_read', s.bytesRead],
    ['bytes_written', s.bytesWritten],
    ['limit_maxbytes', c.store.memoryLimit],
    ['threads', 1],
    ['bytes', c.store.bytes],
    ['curr_items', c.store.count],
    ['total_items', c.store.totalItems],
    ['expired_unfetched', c.store.expiredUnfetched],
    ['evicted_unfetched', c.store.evictedUnfetched],
    ['evictions', c.store.evictions],
    ['reclaimed', c.store.reclaimed],
  ]);
}

/** The reply to `stats settings`: the settings this server has. */
export function settingsStats(c: StatsContext): string {
  return lines([
    ['maxbytes', c.store.memoryLimit],
    ['verbosity', c.verbosity],
    ['evictions', 'on'],
    ['item_size_max', c.store.maxItemSize],
    ['cas_enabled', 'yes'],
    ['flush_enabled', 'yes'],
  ]);
}
