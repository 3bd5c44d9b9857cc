/**
 * A small, fast, seeded pseudo-random generator (sfc32, from PractRand) for
 * reproducible simulations: the same seed gives the same faults, in any run.
 * Not for secrets (ISNs and cookies use a keyed hash).
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.nextU32();
  }

  /** A uniform unsigned 32-bit integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }
}

/** A seed from the environment (`SHOAL_SEED`) or a fresh one; tests print it on failure. */
export function seedFromEnv(): number {
  const s = process.env['SHOAL_SEED'];
  if (s !== undefined && /^\d+$/.test(s)) return Number(s) >>> 0;
  return (Math.random() * 0x1_0000_0000) >>> 0;
}
