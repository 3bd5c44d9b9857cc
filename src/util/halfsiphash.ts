/**
 * HalfSipHash-2-4 (the 32-bit SipHash variant Linux uses for its hash tables, ISNs and
 * port offsets) over whole 32-bit words, keyed with 64 bits. A few dozen integer
 * operations and no allocation: cheap enough for every SYN. (Keyed with 64 bits it is no
 * long-term secret; against blind off-path guessing it is what Linux uses too.)
 */

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

export class HalfSipHash {
  private readonly k0: number;
  private readonly k1: number;
  private v0 = 0;
  private v1 = 0;
  private v2 = 0;
  private v3 = 0;

  constructor(k0: number, k1: number) {
    this.k0 = k0 | 0;
    this.k1 = k1 | 0;
  }

  private rounds(n: number): void {
    let v0 = this.v0;
    let v1 = this.v1;
    let v2 = this.v2;
    let v3 = this.v3;
    for (let r = 0; r < n; r++) {
      v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
      v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
      v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
      v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
    }
    this.v0 = v0;
    this.v1 = v1;
    this.v2 = v2;
    this.v3 = v3;
  }

  private word(m: number): void {
    this.v3 ^= m;
    this.rounds(2);
    this.v0 ^= m;
  }

  private begin(): void {
    this.v0 = this.k0;
    this.v1 = this.k1;
    this.v2 = 0x6c796765 ^ this.k0;
    this.v3 = 0x74656462 ^ this.k1;
  }

  private end(bytes: number): number {
    this.word(bytes << 24); // the length byte, no tail
    this.v2 ^= 0xff;
    this.rounds(4);
    return (this.v1 ^ this.v3) >>> 0;
  }

  /** The hash of three 32-bit words (12 bytes); a 32-bit unsigned result. */
  hash3(m0: number, m1: number, m2: number): number {
    this.begin();
    this.word(m0 | 0);
    this.word(m1 | 0);
    this.word(m2 | 0);
    return this.end(12);
  }

  /** The hash of five 32-bit words (20 bytes). */
  hash5(m0: number, m1: number, m2: number, m3: number, m4: number): number {
    this.begin();
    this.word(m0 | 0);
    this.word(m1 | 0);
    this.word(m2 | 0);
    this.word(m3 | 0);
    this.word(m4 | 0);
    return this.end(20);
  }
}
