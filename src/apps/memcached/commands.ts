/**
 * The text protocol's commands (protocol.txt), answered as memcached 1.6 answers them:
 * the same dispatch and token counts as proto_text.c (a wrong count is "ERROR"), the same
 * error lines, "noreply" as the last token silencing every reply of the storage, delete,
 * incr/decr, touch, flush_all and verbosity commands (errors included, as memcached does).
 * Keys are at most 250 bytes with no control characters (protocol.txt, "Keys").
 */

import type { Tokens } from './tokens.js';
import { parseI32, parseU32, parseU64 } from './numbers.js';
import { expiryTime } from './exptime.js';
import type { Item, ItemStore, StoreMode } from './store.js';
import { generalStats, settingsStats, type MemcachedStats, type StatsContext } from './stats.js';
import * as R from './replies.js';
import { valueLine } from './value-reply.js';

/** The shared state commands act on (memcached.ts's Memcached; sessions hold it as this). */
export interface Cache {
  readonly store: ItemStore;
  readonly stats: MemcachedStats;
  readonly versionLine: Buffer;
  readonly maxGetLineBytes: number;
  verbosity: number;
  statsContext(): StatsContext;
}

/** What a command may ask of its connection. */
export interface CommandIo {
  send(bytes: Uint8Array): void;
  /** The next `request.length` bytes and "\r\n" are the data block of this storage command. */
  expectData(request: StorageRequest): void;
  /** The next `count` bytes are a refused data block, to be dropped. */
  swallow(count: number): void;
  /** Ends the connection once the replies so far have gone (quit; silently for HTTP). */
  quit(): void;
}

/** A storage command waiting for its data block. */
export interface StorageRequest {
  readonly mode: StoreMode;
  readonly key: string;
  readonly flags: number;
  readonly expiresAt: number;
  readonly length: number;
  readonly cas: bigint | null;
  readonly noreply: boolean;
}

export const KEY_MAX_LENGTH = 250;
/** memcached keeps verbosity at most 2 (MAX_VERBOSITY_LEVEL). */
const MAX_VERBOSITY = 2;
/** Values up to this size go out in one buffer with their VALUE line; larger ones by reference. */
const COPY_VALUE_BELOW = 1024;
const INT_MAX = 0x7fff_ffff;

const C_g = 0x67, C_s = 0x73, C_a = 0x61, C_c = 0x63, C_r = 0x72, C_p = 0x70, C_i = 0x69, C_d = 0x64, C_t = 0x74, C_m = 0x6d;

/** Runs one command line. */
export function execute(cache: Cache, t: Tokens, io: CommandIo): void {
  const n = t.count;
  // proto_text.c: no valid command is shorter than two bytes.
  if (n === 0 || t.length(0) < 2) return io.send(R.ERROR);
  switch (t.buf[t.start(0)]) {
    case C_g:
      if (n < 2) return io.send(R.ERROR);
      if (t.is(0, 'get')) return retrieve(cache, t, io, false, false);
      if (t.is(0, 'gets')) return retrieve(cache, t, io, true, false);
      if (t.is(0, 'gat')) return retrieve(cache, t, io, false, true);
      if (t.is(0, 'gats')) return retrieve(cache, t, io, true, true);
      return io.send(R.ERROR);
    case C_s:
      if (t.is(0, 'set')) return n === 5 || n === 6 ? storage(cache, t, io, 'set') : io.send(R.ERROR);
      if (t.is(0, 'stats')) return stats(cache, t, io);
      return io.send(R.ERROR);
    case C_a:
      if (t.is(0, 'add')) return n === 5 || n === 6 ? storage(cache, t, io, 'add') : io.send(R.ERROR);
      if (t.is(0, 'append')) return n === 5 || n === 6 ? storage(cache, t, io, 'append') : io.send(R.ERROR);
      return io.send(R.ERROR);
    case C_r:
      if (t.is(0, 'replace')) return n === 5 || n === 6 ? storage(cache, t, io, 'replace') : io.send(R.ERROR);
      return io.send(R.ERROR);
    case C_p:
      if (t.is(0, 'prepend')) return n === 5 || n === 6 ? storage(cache, t, io, 'prepend') : io.send(R.ERROR);
      return io.send(R.ERROR);
    case C_c:
      if (t.is(0, 'cas')) return n === 6 || n === 7 ? storage(cache, t, io, 'cas') : io.send(R.ERROR);
      return io.send(R.ERROR);
    case C_i:
      if (t.is(0, 'incr')) return n === 3 || n === 4 ? arithmetic(cache, t, io, true) : io.send(R.ERROR);
      return io.send(R.ERROR);
    case C_d:
      if (t.is(0, 'delete')) return n >= 2 && n <= 4 ? remove(cache, t, io) : io.send(R.ERROR);
      if (t.is(0, 'decr')) return n === 3 || n === 4 ? arithmetic(cache, t, io, false) : io.send(R.ERROR);
      return io.send(R.ERROR);
    case C_t:
      if (t.is(0, 'touch')) return n === 3 || n === 4 ? touch(cache, t, io) : io.send(R.ERROR);
      return io.send(R.ERROR);
    case C_m:
      // The meta commands (two letters: mg, ms, md, ma, mn, me) are not served.
      if (t.length(0) === 2) return io.send(R.ERROR);
      break;
  }
  if (t.is(0, 'flush_all')) return n <= 3 ? flushAll(cache, t, io) : io.send(R.ERROR);
  if (t.is(0, 'version')) return io.send(cache.versionLine);
  if (t.is(0, 'quit')) return io.quit();
  if (t.is(0, 'verbosity')) return n === 2 || n === 3 ? verbosity(cache, t, io) : io.send(R.ERROR);
  // memcached drops a connection that speaks HTTP to it, without a word.
  if (t.startsWith(n - 1, 'HTTP/')) return io.quit();
  io.send(R.ERROR);
}

/**
 * protocol.txt "Keys" asks for at most 250 bytes and no control characters, but memcached
 * checks only the length: its tokenizer splits at spaces and nothing else, so a key may
 * hold tabs, DEL or any control byte (memcaslap's keys begin with eight 0x10 bytes), and
 * a NUL ends the line (tokens.ts). We do as memcached does.
 */
export function validKey(t: Tokens, i: number): boolean {
  return t.end(i) - t.start(i) <= KEY_MAX_LENGTH;
}

function noreplyGiven(t: Tokens): boolean {
  return t.is(t.count - 1, 'noreply');
}

/** get, gets, gat, gats: a VALUE line and data block per key found, then END. */
function retrieve(cache: Cache, t: Tokens, io: CommandIo, withCas: boolean, touch: boolean): void {
  const { store, stats } = cache;
  let first = 1;
  let expiresAt = 0;
  if (touch) {
    const exptime = parseI32(t.buf, t.start(1), t.end(1));
    if (exptime === null) return io.send(R.BAD_EXPTIME);
    expiresAt = expiryTime(exptime, store.now());
    first = 2;
  }
  // A bad key fails the whole command: no VALUE lines, no END (as memcached).
  for (let i = first; i < t.count; i++) if (!validKey(t, i)) return io.send(R.BAD_FORMAT);
  for (let i = first; i < t.count; i++) {
    const item = touch ? store.touch(t.text(i), expiresAt) : store.get(t.text(i));
    stats.cmdGet++;
    if (touch) stats.cmdTouch++;
    if (item !== undefined) {
      stats.getHits++;
      if (touch) stats.touchHits++;
      sendValue(io, item, withCas);
    } else {
      stats.getMisses++;
      if (store.lastMissExpired) stats.getExpired++;
      if (touch) stats.touchMisses++;
    }
  }
  io.send(R.END);
}

/** "VALUE <key> <flags> <bytes> [<cas unique>]\r\n<data block>\r\n" */
function sendValue(io: CommandIo, item: Item, withCas: boolean): void {
  if (!withCas && item.reply !== null) return io.send(item.reply);
  const head = valueLine(item.key, item.flags, item.value.length, withCas ? item.cas : undefined);
  const value = item.value;
  if (value.length < COPY_VALUE_BELOW) {
    const out = Buffer.allocUnsafe(head.length + value.length + 2);
    const at = out.write(head, 0, 'latin1');
    value.copy(out, at);
    out[at + value.length] = 0x0d;
    out[at + value.length + 1] = 0x0a;
    io.send(out);
  } else {
    io.send(Buffer.from(head, 'latin1'));
    io.send(value);
    io.send(R.CRLF);
  }
}

/** set, add, replace, append, prepend, cas: checks the line, then waits for the data block. */
function storage(cache: Cache, t: Tokens, io: CommandIo, mode: StoreMode): void {
  const noreply = noreplyGiven(t);
  const reply = (bytes: Uint8Array): void => {
    if (!noreply) io.send(bytes);
  };
  if (!validKey(t, 1)) return reply(R.BAD_FORMAT);
  const b = t.buf;
  const flags = parseU32(b, t.start(2), t.end(2));
  const exptime = parseI32(b, t.start(3), t.end(3));
  const length = parseI32(b, t.start(4), t.end(4));
  if (flags === null || exptime === null || length === null) return reply(R.BAD_FORMAT);
  let cas: bigint | null = null;
  if (mode === 'cas') {
    cas = parseU64(b, t.start(5), t.end(5));
    if (cas === null) return reply(R.BAD_FORMAT);
  }
  if (length < 0 || length > INT_MAX - 2) return reply(R.BAD_FORMAT);
  const key = t.text(1);
  const { store, stats } = cache;
  if (store.tooLarge(key.length, flags, length)) {
    stats.storeTooLarge++;
    reply(R.TOO_LARGE);
    // memcached swallows the data block, and a failed set drops the old value ("Avoid stale data").
    if (mode === 'set') store.delete(key);
    return io.swallow(length + 2);
  }
  io.expectData({ mode, key, flags, expiresAt: expiryTime(exptime, store.now()), length, cas, noreply });
}

/**
 * The data block of `request` has arrived (`value`, inside the get reply `reply`: see
 * value-reply.ts); `terminated` says whether "\r\n" followed it.
 */
export function completeStorage(cache: Cache, request: StorageRequest, value: Buffer, reply: Buffer, terminated: boolean, io: CommandIo): void {
  const { store, stats } = cache;
  stats.cmdSet++;
  if (!terminated) {
    if (!request.noreply) io.send(R.BAD_DATA_CHUNK);
    return;
  }
  const outcome = store.store(request.mode, request.key, request.flags, request.expiresAt, value, request.cas, reply);
  if (request.mode === 'cas') {
    if (outcome === 'STORED') stats.casHits++;
    else if (outcome === 'EXISTS') stats.casBadval++;
    else stats.casMisses++;
  }
  if (!request.noreply) io.send(R.STORE_REPLIES[outcome]);
}

function arithmetic(cache: Cache, t: Tokens, io: CommandIo, incr: boolean): void {
  const noreply = noreplyGiven(t);
  const reply = (bytes: Uint8Array): void => {
    if (!noreply) io.send(bytes);
  };
  if (!validKey(t, 1)) return reply(R.BAD_FORMAT);
  const delta = parseU64(t.buf, t.start(2), t.end(2));
  if (delta === null) return reply(R.BAD_DELTA);
  const { store, stats } = cache;
  const result = store.delta(t.text(1), incr, delta);
  if (result === 'NOT_FOUND') {
    if (incr) stats.incrMisses++;
    else stats.decrMisses++;
    return reply(R.NOT_FOUND);
  }
  if (result === 'NON_NUMERIC') return reply(R.NON_NUMERIC);
  if (incr) stats.incrHits++;
  else stats.decrHits++;
  reply(Buffer.from(`${result}\r\n`, 'latin1'));
}

/** delete <key> [0] [noreply]: the old "hold time" is accepted only as 0 (proto_text.c). */
function remove(cache: Cache, t: Tokens, io: CommandIo): void {
  const n = t.count;
  let noreply = false;
  if (n > 2) {
    const holdIsZero = t.is(2, '0');
    noreply = noreplyGiven(t);
    const valid = (n === 3 && (holdIsZero || noreply)) || (n === 4 && holdIsZero && noreply);
    if (!valid) return noreply ? undefined : io.send(R.BAD_DELETE);
  }
  const reply = (bytes: Uint8Array): void => {
    if (!noreply) io.send(bytes);
  };
  if (!validKey(t, 1)) return reply(R.BAD_FORMAT);
  const { store, stats } = cache;
  if (store.delete(t.text(1))) {
    stats.deleteHits++;
    reply(R.DELETED);
  } else {
    stats.deleteMisses++;
    reply(R.NOT_FOUND);
  }
}

function touch(cache: Cache, t: Tokens, io: CommandIo): void {
  const noreply = noreplyGiven(t);
  const reply = (bytes: Uint8Array): void => {
    if (!noreply) io.send(bytes);
  };
  if (!validKey(t, 1)) return reply(R.BAD_FORMAT);
  const exptime = parseI32(t.buf, t.start(2), t.end(2));
  if (exptime === null) return reply(R.BAD_EXPTIME);
  const { store, stats } = cache;
  stats.cmdTouch++;
  if (store.touch(t.text(1), expiryTime(exptime, store.now())) !== undefined) {
    stats.touchHits++;
    reply(R.TOUCHED);
  } else {
    stats.touchMisses++;
    reply(R.NOT_FOUND);
  }
}

/** flush_all [delay] [noreply]: the delay reads like an exptime (memcached uses realtime()). */
function flushAll(cache: Cache, t: Tokens, io: CommandIo): void {
  const noreply = noreplyGiven(t);
  const { store, stats } = cache;
  stats.cmdFlush++;
  let delay = 0;
  if (t.count !== (noreply ? 2 : 1)) {
    const d = parseI32(t.buf, t.start(1), t.end(1));
    if (d === null) return noreply ? undefined : io.send(R.BAD_EXPTIME);
    delay = d;
  }
  const now = store.now();
  store.flushAll(delay > 0 ? expiryTime(delay, now) : now);
  if (!noreply) io.send(R.OK);
}

function verbosity(cache: Cache, t: Tokens, io: CommandIo): void {
  const noreply = noreplyGiven(t);
  const level = parseU32(t.buf, t.start(1), t.end(1));
  if (level === null) return noreply ? undefined : io.send(R.BAD_FORMAT);
  cache.verbosity = Math.min(level, MAX_VERBOSITY);
  if (!noreply) io.send(R.OK);
}

/** stats, stats reset, stats settings; other groups (items, slabs, …) are not kept: ERROR. */
function stats(cache: Cache, t: Tokens, io: CommandIo): void {
  if (t.count === 1) return io.send(Buffer.from(generalStats(cache.statsContext()), 'latin1'));
  if (t.is(1, 'reset')) {
    cache.stats.reset();
    cache.store.resetCounters();
    return io.send(R.RESET);
  }
  if (t.is(1, 'settings')) return io.send(Buffer.from(settingsStats(cache.statsContext()), 'latin1'));
  io.send(R.ERROR);
}
