/**
 * The client half of memcached's text protocol that the demo's load needs: `get` and
 * `set` requests, and a reader for their replies (VALUE … END, END, STORED) that takes
 * the bytes as they come off the socket, cut anywhere. One request is in flight per
 * connection, so a reply is whole when it ends, and any byte beyond it is an error. The
 * reader holds at most one reply (bounded by MAX_REPLY_BYTES).
 */

const CRLF = Buffer.from('\r\n');
const END_LINE = Buffer.from('END\r\n');
/** The longest reply line we take (memcached's own lines are far shorter). */
const MAX_LINE = 1024;
/** The largest value a get may bring back. */
export const MAX_VALUE_BYTES = 64 * 1024;
export const MAX_REPLY_BYTES = MAX_LINE + MAX_VALUE_BYTES + CRLF.length + END_LINE.length;

export function encodeGet(key: string): Buffer {
  return Buffer.from(`get ${key}\r\n`, 'latin1');
}

export function encodeSet(key: string, value: Buffer, flags = 0, exptime = 0): Buffer {
  const head = `set ${key} ${flags} ${exptime} ${value.length}\r\n`;
  const b = Buffer.allocUnsafe(head.length + value.length + 2);
  b.write(head, 0, 'latin1');
  value.copy(b, head.length);
  CRLF.copy(b, head.length + value.length);
  return b;
}

export type Reply = { kind: 'hit'; flags: number; value: Buffer } | { kind: 'miss' } | { kind: 'stored' };

/** A reply that is not what the request allows (an error line, a wrong key, bytes left over). */
export class ProtocolError extends Error {}

export class ReplyReader {
  private pending: Buffer | null = null;
  private op: 'get' | 'set' | null = null;
  private key = '';

  /** The reply to read next is for this request. */
  expect(op: 'get' | 'set', key: string): void {
    if (this.pending !== null) throw new ProtocolError(`${this.pending.length} bytes came before the request`);
    this.op = op;
    this.key = key;
  }

  /** Bytes waiting for the rest of a reply. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }

  /** Takes bytes from the socket: the reply once it is whole, else null; a bad reply throws ProtocolError. */
  feed(chunk: Buffer): Reply | null {
    const b = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.op === null) throw new ProtocolError(`${b.length} bytes came with no request in flight`);
    const reply = this.parse(b);
    if (reply === null) {
      if (b.length > MAX_REPLY_BYTES) throw new ProtocolError(`a reply longer than ${MAX_REPLY_BYTES} bytes`);
      // Keep our own copy: the socket's chunk may be reused once we return.
      this.pending = this.pending === null ? Buffer.from(b) : b;
      return null;
    }
    this.pending = null;
    this.op = null;
    return reply;
  }

  private parse(b: Buffer): Reply | null {
    const eol = b.indexOf(CRLF);
    if (eol < 0) {
      if (b.length > MAX_LINE) throw new ProtocolError(`a reply line longer than ${MAX_LINE} bytes`);
      return null;
    }
    const line = b.toString('latin1', 0, eol);
    if (this.op === 'set') {
      if (line !== 'STORED') throw new ProtocolError(`set ${this.key}: ${line}`);
      this.whole(b, eol + 2);
      return { kind: 'stored' };
    }
    if (line === 'END') {
      this.whole(b, eol + 2);
      return { kind: 'miss' };
    }
    // VALUE <key> <flags> <bytes> [<cas unique>]
    const words = line.split(' ');
    if (words[0] !== 'VALUE' || words.length < 4 || words.length > 5) throw new ProtocolError(`get ${this.key}: ${line}`);
    if (words[1] !== this.key) throw new ProtocolError(`get ${this.key}: the reply is for '${words[1]}'`);
    const flags = Number(words[2]);
    const bytes = Number(words[3]);
    if (!/^[0-9]+$/.test(words[2]!) || !(flags <= 0xffff_ffff)) throw new ProtocolError(`get ${this.key}: bad flags in '${line}'`);
    if (!/^[0-9]+$/.test(words[3]!) || !(bytes <= MAX_VALUE_BYTES)) throw new ProtocolError(`get ${this.key}: bad length in '${line}'`);
    const dataAt = eol + 2;
    const total = dataAt + bytes + CRLF.length + END_LINE.length;
    if (b.length < total) return null;
    if (b[dataAt + bytes] !== 0x0d || b[dataAt + bytes + 1] !== 0x0a) throw new ProtocolError(`get ${this.key}: the value does not end with CRLF`);
    if (!b.subarray(dataAt + bytes + 2, total).equals(END_LINE)) throw new ProtocolError(`get ${this.key}: no END after the value`);
    this.whole(b, total);
    return { kind: 'hit', flags, value: b.subarray(dataAt, dataAt + bytes) };
  }

  /** The reply ends at `end`: anything after it is a reply to no request. */
  private whole(b: Buffer, end: number): void {
    if (b.length > end) throw new ProtocolError(`${b.length - end} bytes after the reply to ${this.op} ${this.key}`);
  }
}
