/** The Internet checksum over a packet's fragments (odd-length fragments handled by the accumulator). */

import { ChecksumAccumulator } from '../wire/checksum.js';
import type { Packet } from './packet.js';

/** The checksum of `p` from byte `from` to its end, with `initial` (a folded partial sum, e.g. a pseudo-header) added. */
export function packetChecksum(p: Packet, from = 0, initial = 0): number {
  const acc = new ChecksumAccumulator(initial);
  let pos = 0;
  for (let i = 0; i < p.fragmentCount; i++) {
    const len = p.lens[i]!;
    const skip = Math.max(from - pos, 0);
    if (skip < len) acc.add(p.bufs[i]!, p.offs[i]! + skip, len - skip);
    pos += len;
  }
  return acc.checksum();
}
