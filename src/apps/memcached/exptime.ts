/**
 * Expiration times (protocol.txt, "Expiration times"): 0 never expires; up to 30 days
 * (2,592,000 s) is an offset in seconds from now; anything larger is a Unix time; a negative
 * value expires the item at once. Items keep their expiry as a Unix time in milliseconds.
 */

/** Never expires. */
export const NEVER = 0;
/** Already expired: a time in the past that is not NEVER. */
export const EXPIRED = 1;
/** The largest relative exptime: 60*60*24*30 seconds (memcached's REALTIME_MAXDELTA). */
export const MAX_RELATIVE_EXPTIME = 2_592_000;

/** When an item given `exptime` at Unix time `nowMs` expires (Unix ms, or NEVER). */
export function expiryTime(exptime: number, nowMs: number): number {
  if (exptime === 0) return NEVER;
  if (exptime < 0) return EXPIRED;
  if (exptime > MAX_RELATIVE_EXPTIME) return exptime * 1000;
  return nowMs + exptime * 1000;
}

/** Whether an item with this expiry is gone at `nowMs`. */
export function isExpired(expiresAt: number, nowMs: number): boolean {
  return expiresAt !== NEVER && expiresAt <= nowMs;
}
