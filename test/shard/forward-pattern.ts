/** The bytes forward.test.ts puts in frame number `n`, and the check of them on the other side. */
import type { Packet } from '../../src/packet/packet.js';

/** Frame `n`'s length: 60 to 1,514 bytes, varying. */
export function frameLength(n: number): number {
  return 60 + ((n * 37) % 1455);
}

/** Fills `len` bytes at `at` in `b` for frame `n`. */
export function fillFrame(b: Uint8Array, at: number, len: number, n: number): void {
  for (let i = 0; i < len; i++) b[at + i] = (n * 131 + i * 7) & 0xff;
}

export function frameIsIntact(p: Packet, n: number): boolean {
  if (p.length !== frameLength(n)) return false;
  const b = p.toBytes();
  for (let i = 0; i < b.length; i++) if (b[i] !== ((n * 131 + i * 7) & 0xff)) return false;
  return true;
}
