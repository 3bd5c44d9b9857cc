/**
 * A stored value kept inside its own get reply: "VALUE <key> <flags> <bytes>\r\n", the
 * data block, "\r\n" — one buffer, made when the set's data block is about to arrive and
 * filled in place by it. A get then sends a buffer it already has, instead of formatting
 * a header and copying the value into a new reply per hit (memcached keeps the header's
 * parts next to the data for the same reason). Measured with memcaslap (90% get, 1 KiB
 * values): the per-hit allocation and copy were the largest JavaScript cost of a get.
 */

/** "VALUE <key> <flags> <bytes> [<cas unique>]\r\n", the line before a data block. Keys are latin1: a byte per character. */
export function valueLine(key: string, flags: number, length: number, cas?: number): string {
  return `VALUE ${key} ${flags} ${length}${cas === undefined ? '' : ` ${cas}`}\r\n`;
}

/** A reply with room for a `length`-byte data block (fill it through `valueOf`). */
export function newValueReply(key: string, flags: number, length: number): Buffer {
  const head = valueLine(key, flags, length);
  const reply = Buffer.allocUnsafe(head.length + length + 2);
  reply.write(head, 0, 'latin1');
  reply[reply.length - 2] = 0x0d;
  reply[reply.length - 1] = 0x0a;
  return reply;
}

/** The data block inside `reply` (a view: no copy). */
export function valueOf(reply: Buffer, length: number): Buffer {
  return reply.subarray(reply.length - 2 - length, reply.length - 2);
}
