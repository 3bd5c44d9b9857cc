/**
 * One connection's side of the text protocol: bytes in (chunks cut anywhere), replies out.
 * Lines end at "\n" (a "\r" before it is dropped, as memcached does); a storage command's
 * data block is read by its length and must be followed by "\r\n" ("CLIENT_ERROR bad data
 * chunk" otherwise, and parsing goes on right after those two bytes, as in memcached).
 *
 * Lines are parsed where they lie in the chunk; only a line cut by a chunk boundary is
 * copied, into a buffer bounded by the line limit. A line may be at most 2048 bytes, or
 * `maxGetLineBytes` when it starts with "get " or "gets " (memcached lets only multigets
 * grow); past that the session answers "CLIENT_ERROR line too long" and closes. The rule
 * looks at the line, not at how it was cut, so replies do not depend on chunking.
 *
 * Back pressure: when output.write() returns false the session stops after the command it
 * is running and keeps the rest of its input (a reference to the chunk, no copy); feed()
 * and resume() say false until the output has caught up and resume() is called.
 */

import { Tokens } from './tokens.js';
import { completeStorage, execute, type Cache, type CommandIo, type StorageRequest } from './commands.js';
import { newValueReply, valueOf } from './value-reply.js';
import * as R from './replies.js';

/** Where a session's replies go. */
export interface SessionOutput {
  /** Sends bytes; false when the peer is not keeping up (the session then waits for resume()). */
  write(bytes: Uint8Array): boolean;
  /** Closes the connection once what was written has gone. */
  end(): void;
  /** The session waited for a command answered elsewhere and may go on: call resume() (sharded.ts). */
  wake?(): void;
}

/**
 * Commands answered elsewhere (another shard's cache, sharded.ts). The session asks before
 * running a command; a router that takes it answers through `done` (now or later) with
 * the reply's bytes, and the session runs nothing after it until then, so replies keep
 * the order of the commands.
 */
export interface SessionRouter {
  /** A command line (split in `tokens`); true when taken. */
  line(tokens: Tokens, done: (reply: Uint8Array) => void): boolean;
  /** A storage command whose data block has arrived whole (its line, without "\r\n"); true when taken. */
  storage(request: StorageRequest, line: Buffer, value: Buffer, done: (reply: Uint8Array) => void): boolean;
}

/** The longest line memcached waits for without a "\n" (proto_text.c try_read_command_ascii). */
export const MAX_LINE_BYTES = 2048;
/** Leading spaces memcached skips looking for "get " in a long line. */
const MAX_LEADING_SPACES = 100;

const enum Mode {
  Line,
  Data,
  Swallow,
  Ended,
}

const EMPTY: Buffer = Buffer.alloc(0);
/** The largest line buffer a session keeps between lines. */
const CARRY_KEEP_BYTES = 4096;

export class MemcachedSession implements CommandIo {
  private mode = Mode.Line;
  private readonly tokens = new Tokens();
  /** A line cut by a chunk boundary, so far. */
  private carry = EMPTY;
  private carryLength = 0;
  /** The data block being read. */
  private request: StorageRequest | null = null;
  private value = EMPTY;
  /** The get reply `value` lies in. */
  private reply = EMPTY;
  private filled = 0;
  private tailSeen = 0;
  private tailOk = true;
  private swallowLeft = 0;
  /** Input not yet processed because the output is blocked: one chunk and its position. */
  private pending: Buffer | null = null;
  private pendingOffset = 0;
  private readonly queued: Buffer[] = [];
  private blocked = false;
  private closed = false;
  /** The peer has sent all it will: end once the input so far is answered. */
  private finishing = false;
  /** A command went to the router and its reply has not come. */
  private awaiting = false;
  private running = false;
  /** The line of the storage command whose data block is being read (kept only with a router). */
  private storageLine: Buffer = EMPTY;
  private readonly routed = (reply: Uint8Array): void => this.routedReply(reply);

  constructor(
    private readonly cache: Cache,
    private readonly output: SessionOutput,
    private readonly router: SessionRouter | null = null,
  ) {}

  /** Whether the session has ended the connection (quit, a line too long, HTTP). */
  get ended(): boolean {
    return this.mode === Mode.Ended;
  }

  /** Whether input waits for resume(). */
  get paused(): boolean {
    return this.blocked || this.awaiting || this.pending !== null;
  }

  /**
   * Takes bytes from the connection. False when the session stopped because the output is
   * blocked: the caller should stop reading until it has called resume() and got true.
   */
  feed(chunk: Uint8Array): boolean {
    if (this.mode === Mode.Ended) return true;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.cache.stats.bytesRead += buf.length;
    if (this.paused) {
      this.queued.push(buf);
      return false;
    }
    return this.run(buf, 0);
  }

  /** The output has room again (socket 'drain'), or a routed reply came: goes on with what was left. */
  resume(): boolean {
    this.blocked = false;
    if (this.awaiting) return false;
    if (this.pending !== null) {
      const buf = this.pending;
      this.pending = null;
      if (!this.run(buf, this.pendingOffset)) return false;
    }
    while (this.queued.length > 0) if (!this.run(this.queued.shift()!, 0)) return false;
    if (this.finishing && !this.awaiting) this.quit();
    return !this.blocked && !this.awaiting;
  }

  /** The peer ended its side: ends the connection once what it sent has been answered. */
  finish(): void {
    this.finishing = true;
    if (this.pending === null && this.queued.length === 0 && !this.awaiting) this.quit();
  }

  /** The connection is gone: counts it out; nothing more is sent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mode = Mode.Ended;
    this.pending = null;
    this.queued.length = 0;
    this.cache.stats.currConnections--;
  }

  // CommandIo: what commands ask of the connection.

  send(bytes: Uint8Array): void {
    if (this.closed) return;
    this.cache.stats.bytesWritten += bytes.length;
    if (!this.output.write(bytes)) this.blocked = true;
  }

  expectData(request: StorageRequest): void {
    this.request = request;
    // The data block lands inside the get reply that will serve it (value-reply.ts).
    this.reply = newValueReply(request.key, request.flags, request.length);
    this.value = valueOf(this.reply, request.length);
    this.filled = 0;
    this.tailSeen = 0;
    this.tailOk = true;
    this.mode = Mode.Data;
  }

  swallow(count: number): void {
    this.swallowLeft = count;
    this.mode = Mode.Swallow;
  }

  /** quit, HTTP, a line too long: ends the connection after the replies so far. */
  quit(): void {
    if (this.mode === Mode.Ended) return;
    this.mode = Mode.Ended;
    this.pending = null;
    this.queued.length = 0;
    this.carry = EMPTY;
    this.value = EMPTY;
    this.reply = EMPTY;
    if (!this.closed) this.output.end();
  }

  /** Processes buf from offset until it is used up, the output blocks or the session ends. */
  private run(buf: Buffer, offset: number): boolean {
    this.running = true;
    try {
      return this.runIn(buf, offset);
    } finally {
      this.running = false;
    }
  }

  private runIn(buf: Buffer, offset: number): boolean {
    while (offset < buf.length && !this.blocked && !this.awaiting && this.mode !== Mode.Ended) {
      switch (this.mode) {
        case Mode.Line:
          offset = this.readLine(buf, offset);
          break;
        case Mode.Data:
          offset = this.readData(buf, offset);
          break;
        case Mode.Swallow: {
          const n = Math.min(this.swallowLeft, buf.length - offset);
          offset += n;
          this.swallowLeft -= n;
          if (this.swallowLeft === 0) this.mode = Mode.Line;
          break;
        }
      }
    }
    if (offset < buf.length && this.mode !== Mode.Ended) {
      this.pending = buf;
      this.pendingOffset = offset;
      return false;
    }
    return !this.blocked && !this.awaiting;
  }

  /** The reply to a routed command: out it goes, and the session goes on (at once, or through the output's wake). */
  private routedReply(reply: Uint8Array): void {
    if (!this.awaiting) return;
    this.awaiting = false;
    if (this.mode === Mode.Ended && this.closed) return;
    if (reply.length > 0) this.send(reply);
    // Blocked by the output now: its 'drain' resumes the session, as for any reply.
    if (!this.running && !this.blocked) this.output.wake?.();
  }

  private readLine(buf: Buffer, offset: number): number {
    const nl = buf.indexOf(0x0a, offset);
    const end = nl < 0 ? buf.length : nl;
    if (this.carryLength === 0 && nl >= 0) {
      // The whole line is in this chunk: parse it in place.
      if (end - offset > MAX_LINE_BYTES && end - offset > this.lineLimit(buf, offset, end)) return this.tooLong(buf);
      this.runLine(buf, offset, end);
      return nl + 1;
    }
    const length = this.carryLength + (end - offset);
    if (length > MAX_LINE_BYTES) {
      if (length > this.joinedLineLimit(buf, offset, end)) return this.tooLong(buf);
    }
    this.append(buf, offset, end);
    if (nl < 0) return buf.length;
    const line = this.carry;
    const lineLength = this.carryLength;
    this.carryLength = 0;
    // A buffer grown for a long multiget is not kept for the ordinary lines that follow.
    if (line.length > CARRY_KEEP_BYTES) this.carry = EMPTY;
    this.runLine(line, 0, lineLength);
    return nl + 1;
  }

  /** The longest this line may be: memcached lets only "get "/"gets " lines pass 2048 bytes. */
  private lineLimit(buf: Buffer, start: number, end: number): number {
    let i = start;
    while (i < end && buf[i] === 0x20) i++;
    if (i - start > MAX_LEADING_SPACES) return MAX_LINE_BYTES;
    const isGet = hasPrefix(buf, i, end, 'get ') || hasPrefix(buf, i, end, 'gets ');
    return isGet ? Math.max(MAX_LINE_BYTES, this.cache.maxGetLineBytes) : MAX_LINE_BYTES;
  }

  /** lineLimit() of the line that starts in carry and goes on in buf[offset, end). */
  private joinedLineLimit(buf: Buffer, offset: number, end: number): number {
    const known = MAX_LEADING_SPACES + 'gets '.length + 1;
    if (this.carryLength === 0) return this.lineLimit(buf, offset, end);
    if (this.carryLength >= known) return this.lineLimit(this.carry, 0, this.carryLength);
    const head = Buffer.allocUnsafe(Math.min(known, this.carryLength + (end - offset)));
    this.carry.copy(head, 0, 0, this.carryLength);
    buf.copy(head, this.carryLength, offset, offset + head.length - this.carryLength);
    return this.lineLimit(head, 0, head.length);
  }

  private tooLong(buf: Buffer): number {
    this.send(R.LINE_TOO_LONG);
    this.quit();
    return buf.length;
  }

  private append(buf: Buffer, start: number, end: number): void {
    const need = this.carryLength + (end - start);
    if (need > this.carry.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.carry.length * 2, 256));
      this.carry.copy(grown, 0, 0, this.carryLength);
      this.carry = grown;
    }
    buf.copy(this.carry, this.carryLength, start, end);
    this.carryLength = need;
  }

  /** One line without its "\n"; a "\r" before it goes when the line has more than that byte. */
  private runLine(buf: Buffer, start: number, end: number): void {
    if (end - start > 1 && buf[end - 1] === 0x0d) end--;
    this.tokens.split(buf, start, end);
    const router = this.router;
    if (router !== null) {
      this.awaiting = true;
      if (router.line(this.tokens, this.routed)) return;
      this.awaiting = false;
      // A storage command's line goes with its data block, if the router takes that.
      if (isStorage(this.tokens)) this.storageLine = Buffer.from(buf.subarray(start, end));
    }
    execute(this.cache, this.tokens, this);
  }

  private readData(buf: Buffer, offset: number): number {
    const request = this.request!;
    const want = request.length - this.filled;
    if (want > 0) {
      const n = Math.min(want, buf.length - offset);
      buf.copy(this.value, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
    }
    while (this.filled === request.length && this.tailSeen < 2 && offset < buf.length) {
      if (buf[offset++] !== (this.tailSeen === 0 ? 0x0d : 0x0a)) this.tailOk = false;
      this.tailSeen++;
    }
    if (this.tailSeen === 2) {
      const value = this.value;
      const reply = this.reply;
      this.request = null;
      this.value = EMPTY;
      this.reply = EMPTY;
      this.mode = Mode.Line;
      const router = this.router;
      if (router !== null && this.tailOk) {
        const line = this.storageLine;
        this.storageLine = EMPTY;
        this.awaiting = true;
        if (router.storage(request, line, value, this.routed)) return offset;
        this.awaiting = false;
      }
      completeStorage(this.cache, request, value, reply, this.tailOk, this);
    }
    return offset;
  }
}

const STORAGE = ['set', 'add', 'replace', 'append', 'prepend', 'cas'];

function isStorage(t: Tokens): boolean {
  if (t.count === 0) return false;
  for (const w of STORAGE) if (t.is(0, w)) return true;
  return false;
}

function hasPrefix(buf: Buffer, at: number, end: number, word: string): boolean {
  if (end - at < word.length) return false;
  for (let k = 0; k < word.length; k++) if (buf[at + k] !== word.charCodeAt(k)) return false;
  return true;
}
