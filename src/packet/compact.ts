/**
 * Compact copies: received data moved out of its frames into memory of its own size, so
 * the frames go back to their pool (Linux's tcp_collapse). A 1-byte segment holds a
 * whole 2 KB frame; its compact copy costs its byte and the objects around it. Only
 * for memory pressure: the fast path keeps frames and copies nothing.
 */
import { Packet } from './packet.js';

/**
 * What a compact copy costs beyond its bytes: the Packet, its fragment lists and the
 * typed array (about this much in V8), charged with it so that a flood of tiny copies
 * is bounded by the same budgets as frames.
 */
export const COMPACT_OVERHEAD = 256;

/**
 * A packet with less than two thirds of its memory in data: worth collapsing with its
 * neighbours when memory is short (Linux collapses below its scaling ratio, a half; a
 * little more here so that compact copies themselves grow to at least 512 bytes, where
 * the overhead is a third). A full 1448-byte segment in a 2 KB frame is not wasteful.
 */
export function isWasteful(p: Packet): boolean {
  return p.truesize > p.length + (p.length >>> 1);
}

/** Whether a copy of `p` alone would be smaller than what it holds (else copying it gains nothing). */
export function shrinksAlone(p: Packet): boolean {
  return p.truesize > p.length + COMPACT_OVERHEAD;
}

/** One compact packet holding `ps[from, to)` in order, `length` bytes in all; the originals are released. */
export function compactJoin(ps: readonly Packet[], from: number, to: number, length: number): Packet {
  if (length === 0) {
    for (let i = from; i < to; i++) ps[i]!.release();
    const empty = new Packet();
    empty.truesize = COMPACT_OVERHEAD;
    return empty;
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (let i = from; i < to; i++) {
    const p = ps[i]!;
    p.copyTo(bytes, at);
    at += p.length;
    p.release();
  }
  const c = Packet.wrap(bytes);
  c.truesize = length + COMPACT_OVERHEAD;
  return c;
}

/** A compact copy of `p`, which is released. */
export function compactCopy(p: Packet): Packet {
  return compactJoin([p], 0, 1, p.length);
}
