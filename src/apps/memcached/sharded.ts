/**
 * memcached across shards, as Seastar's: each shard keeps the keys that hash to it
 * (FNV-1a of the key, modulo the shards) in a cache of its own. A connection stays on
 * the shard that accepted it; a command for a key owned elsewhere goes to the owner as
 * its request bytes (over `shard.rpc`), runs there in a session of the owner's cache, and
 * the reply's bytes come back (values copied across once each way). The connection's
 * session runs nothing after it until the reply is in, so replies keep their order.
 *
 * - get/gets/gat/gats with keys on several shards: one request per key to its owner, the
 *   replies joined in the order of the keys under one END (an error reply for any key is
 *   the whole reply, as memcached's); keys all on this shard run here as one command.
 * - set/add/replace/append/prepend/cas, delete, incr/decr, touch: to the key's owner.
 * - flush_all runs on every shard (the reply is this shard's); `stats` adds up every
 *   shard's counters (its other lines are this shard's).
 * - Everything else (errors included, and keys owned here) runs here as it always did.
 */
import type { ShardRpc } from '../../shard/rpc.js';
import type { Tokens } from './tokens.js';
import type { SessionRouter } from './session.js';
import type { StorageRequest } from './commands.js';
import { MemcachedSession } from './session.js';
import type { Memcached } from './memcached.js';
import { validKey } from './commands.js';
import { parseI32, parseU32 } from './numbers.js';

const END = Buffer.from('END\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

/** FNV-1a (32 bits) of the key's bytes: which shard owns it is `hash % shards`, the same on every shard. */
export function keyHash(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

/** `stats` fields that are the sum over the shards (the others are this shard's). */
const SUMMED = new Set([
  'curr_connections', 'total_connections', 'rejected_connections', 'connection_structures',
  'cmd_get', 'cmd_set', 'cmd_flush', 'cmd_touch', 'get_hits', 'get_misses', 'get_expired', 'get_flushed',
  'delete_misses', 'delete_hits', 'incr_misses', 'incr_hits', 'decr_misses', 'decr_hits', 'cas_misses', 'cas_hits', 'cas_badval',
  'touch_hits', 'touch_misses', 'bytes_read', 'bytes_written', 'limit_maxbytes', 'curr_items', 'total_items', 'bytes',
  'evictions', 'reclaimed', 'expired_unfetched', 'evicted_unfetched',
]);

export class ShardedMemcached {
  /** Runs requests from other shards (and split commands) on this shard's cache; its output is gathered here. */
  private readonly local: MemcachedSession;
  private gathered: Uint8Array[] = [];
  readonly router: SessionRouter;

  constructor(
    readonly cache: Memcached,
    private readonly rpc: ShardRpc | null,
    readonly shard: number,
    readonly shards: number,
  ) {
    if (shards > 1 && rpc === null) throw new Error('memcached over several shards needs calls between them: launch with rpcBytes (4 MiB holds any item)');
    this.local = new MemcachedSession(cache, {
      write: (b) => {
        this.gathered.push(Buffer.from(b));
        return true;
      },
      end: () => {},
    });
    if (rpc !== null) rpc.onCall = (_from, payload, reply) => reply(this.runHere(payload));
    this.router = {
      line: (t, done) => this.line(t, done),
      storage: (request, line, value, done) => this.storage(request, line, value, done),
    };
  }

  /** Which shard owns the key in token `i`. */
  ownerOf(t: Tokens, i: number): number {
    return keyHash(t.buf, t.start(i), t.end(i)) % this.shards;
  }

  /** Runs `request` (whole commands) on this shard's cache; the reply's bytes. Not counted as traffic twice: the connection's session counted it. */
  runHere(request: Uint8Array): Uint8Array {
    const stats = this.cache.stats;
    const read = stats.bytesRead;
    const written = stats.bytesWritten;
    this.gathered = [];
    this.local.feed(request);
    stats.bytesRead = read;
    stats.bytesWritten = written;
    return this.gathered.length === 1 ? this.gathered[0]! : Buffer.concat(this.gathered);
  }

  /** Runs `request` on shard `to` (here when it is this one); `done` gets the reply. */
  private runOn(to: number, request: Uint8Array, done: (reply: Uint8Array) => void): void {
    if (to === this.shard || this.rpc === null) return done(this.runHere(request));
    if (!this.rpc.call(to, request, done)) done(Buffer.from('SERVER_ERROR out of memory storing object\r\n', 'latin1'));
  }

  private line(t: Tokens, done: (reply: Uint8Array) => void): boolean {
    const n = t.count;
    if (this.shards === 1 || n === 0) return false;
    if (t.is(0, 'flush_all')) return this.everywhere(lineOf(t), (replies) => replies[this.shard]!, done);
    if (n === 1) return this.statsLine(t, done);
    if (t.is(0, 'get') || t.is(0, 'gets')) return this.retrieve(t, 1, done);
    if (t.is(0, 'gat') || t.is(0, 'gats')) return n >= 3 && this.retrieve(t, 2, done);
    if (t.is(0, 'delete') || t.is(0, 'incr') || t.is(0, 'decr') || t.is(0, 'touch')) {
      const owner = this.ownerOf(t, 1);
      if (owner === this.shard) return false;
      this.runOn(owner, lineOf(t), done);
      return true;
    }
    if (t.is(0, 'set') && (n === 5 || n === 6)) this.dropIfTooLarge(t);
    return false;
  }

  /**
   * A `set` too large to store is refused here, before its data block (commands.ts), and
   * as memcached's it drops the key's old value ("avoid stale data"): on the key's shard.
   */
  private dropIfTooLarge(t: Tokens): void {
    if (!validKey(t, 1)) return;
    const owner = this.ownerOf(t, 1);
    if (owner === this.shard) return;
    const flags = parseU32(t.buf, t.start(2), t.end(2));
    const length = parseI32(t.buf, t.start(4), t.end(4));
    if (flags === null || length === null || length < 0 || !this.cache.store.tooLarge(t.length(1), flags, length)) return;
    const drop = Buffer.concat([Buffer.from('delete ', 'latin1'), t.buf.subarray(t.start(1), t.end(1)), Buffer.from(' noreply\r\n', 'latin1')]);
    this.runOn(owner, drop, () => {});
  }

  /** `stats` alone: every shard's counters added up. */
  private statsLine(t: Tokens, done: (reply: Uint8Array) => void): boolean {
    if (t.count !== 1 || !t.is(0, 'stats')) return false;
    return this.everywhere(lineOf(t), (replies) => mergeStats(replies, this.shard), done);
  }

  /**
   * Keys from token `first` on: all here, or any not a valid key (or a bad exptime) → not
   * taken (it runs here, and fails whole as memcached's does, touching nothing); else one
   * request per key, joined in order.
   */
  private retrieve(t: Tokens, first: number, done: (reply: Uint8Array) => void): boolean {
    for (let i = first; i < t.count; i++) if (!validKey(t, i)) return false;
    if (first === 2 && parseI32(t.buf, t.start(1), t.end(1)) === null) return false;
    let remote = false;
    for (let i = first; i < t.count && !remote; i++) remote = this.ownerOf(t, i) !== this.shard;
    if (!remote) return false;
    const head = t.buf.subarray(t.start(0), t.end(first - 1));
    const keys = t.count - first;
    const replies: (Uint8Array | null)[] = new Array<Uint8Array | null>(keys).fill(null);
    let left = keys;
    for (let i = first; i < t.count; i++) {
      const k = i - first;
      const request = Buffer.concat([head, Buffer.from(' ', 'latin1'), t.buf.subarray(t.start(i), t.end(i)), CRLF]);
      this.runOn(this.ownerOf(t, i), request, (reply) => {
        replies[k] = reply;
        if (--left === 0) done(joinValues(replies as Uint8Array[]));
      });
    }
    return true;
  }

  private storage(request: StorageRequest, line: Buffer, value: Buffer, done: (reply: Uint8Array) => void): boolean {
    if (this.shards === 1 || line.length === 0) return false;
    const key = Buffer.from(request.key, 'latin1');
    const owner = keyHash(key, 0, key.length) % this.shards;
    if (owner === this.shard) return false;
    this.runOn(owner, Buffer.concat([line, CRLF, value, CRLF]), done);
    return true;
  }

  /** `request` on every shard; `done` gets `pick` of the replies (by shard). */
  private everywhere(request: Uint8Array, pick: (replies: Uint8Array[]) => Uint8Array, done: (reply: Uint8Array) => void): boolean {
    const replies: Uint8Array[] = new Array<Uint8Array>(this.shards);
    let left = this.shards;
    for (let s = 0; s < this.shards; s++) {
      this.runOn(s, request, (reply) => {
        replies[s] = reply;
        if (--left === 0) done(pick(replies));
      });
    }
    return true;
  }
}

/** The command's line as sent (its tokens joined by one space) with "\r\n". */
function lineOf(t: Tokens): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < t.count; i++) {
    if (i > 0) parts.push(Buffer.from(' ', 'latin1'));
    parts.push(Buffer.from(t.buf.subarray(t.start(i), t.end(i))));
  }
  parts.push(CRLF);
  return Buffer.concat(parts);
}

/** Replies to one-key retrievals, joined under one END; an error for any key is the whole reply. */
function joinValues(replies: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const r of replies) {
    const b = Buffer.from(r.buffer, r.byteOffset, r.byteLength);
    if (b.length < END.length || !b.subarray(b.length - END.length).equals(END)) return b;
    parts.push(b.subarray(0, b.length - END.length));
  }
  parts.push(END);
  return Buffer.concat(parts);
}

/** Every shard's `stats` reply: the summed fields added up, the rest as `own` says. */
function mergeStats(replies: Uint8Array[], own: number): Uint8Array {
  const sums = new Map<string, bigint>();
  for (const r of replies) {
    for (const line of Buffer.from(r.buffer, r.byteOffset, r.byteLength).toString('latin1').split('\r\n')) {
      const m = /^STAT (\S+) (\d+)$/.exec(line);
      if (m !== null && SUMMED.has(m[1]!)) sums.set(m[1]!, (sums.get(m[1]!) ?? 0n) + BigInt(m[2]!));
    }
  }
  const mine = Buffer.from(replies[own]!.buffer, replies[own]!.byteOffset, replies[own]!.byteLength).toString('latin1');
  const out = mine.replace(/^STAT (\S+) (\d+)$/gm, (whole, name: string) => (sums.has(name) ? `STAT ${name} ${sums.get(name)!}` : whole));
  return Buffer.from(out, 'latin1');
}
