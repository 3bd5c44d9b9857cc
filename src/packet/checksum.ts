/**
 * The Internet checksum over a packet's fragments, on the hot path of every segment a
 * device does not check or fill in: no allocation, odd-length fragments carried as
 * RFC 1071 §2(B) allows (a piece starting at an odd position is summed byte-swapped).
 */

import { addSums, finish, sum16 } from '../wire/checksum.js';
import type { Packet } from './packet.js';

function swap16(x: number): number {
  return ((x & 0xff) << 8) | (x >>> 8);
}

/** The folded partial sum of `p` from byte `from` to its end, plus `initial` (a folded partial sum, e.g. a pseudo-header). */
export function packetSum(p: Packet, from = 0, initial = 0): number {
  let sum = initial;
  let odd = false;
  let pos = 0;
  for (let i = 0; i < p.fragmentCount; i++) {
    const len = p.lens[i]!;
    const skip = from > pos ? from - pos : 0;
    pos += len;
    if (skip >= len) continue;
    const s = sum16(p.bufs[i]!, p.offs[i]! + skip, len - skip);
    sum = addSums(sum, odd ? swap16(s) : s);
    if ((len - skip) & 1) odd = !odd;
  }
  return sum;
}

/** The checksum field value for `p` from byte `from` to its end, with `initial` added. */
export function packetChecksum(p: Packet, from = 0, initial = 0): number {
  return finish(packetSum(p, from, initial));
}
