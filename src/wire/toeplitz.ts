/**
 * The Toeplitz hash that NICs use for receive-side scaling (Microsoft RSS
 * specification, "RSS hashing functions"). For each input bit that is set, the
 * 32 key bits starting at that bit position are XORed into the result.
 *
 * A `ToeplitzHasher` precomputes, for each input byte position and byte value, the
 * 32-bit word that byte contributes, so a hash of the IPv4 4-tuple is 12 table
 * look-ups and XORs, with no allocation.
 */

/** The 40-byte key Microsoft publishes and most NICs (and Seastar) use by default. */
export const DEFAULT_RSS_KEY = Uint8Array.from([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

/**
 * A key whose hash is the same both ways of a flow: 0x6d5a repeated (Woo and Park,
 * "Scalable TCP Session Monitoring with Symmetric Receive-side Scaling", 2012). With
 * it, a packet and its reply land on the same queue; Microsoft's key does not do that.
 */
export const SYMMETRIC_RSS_KEY = Uint8Array.from({ length: 40 }, (_, i) => (i & 1 ? 0x5a : 0x6d));

/** The hash of `len` bytes of `input` from `off`, bit by bit (the reference definition). */
export function toeplitzReference(key: Uint8Array, input: Uint8Array, off = 0, len = input.length - off): number {
  if (len > key.length - 4) throw new RangeError(`a ${key.length}-byte key hashes at most ${key.length - 4} input bytes`);
  let result = 0;
  // `window` holds the 32 key bits aligned with the current input bit.
  let window = ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
  for (let i = 0; i < len; i++) {
    const next = key[i + 4]!;
    for (let bit = 7; bit >= 0; bit--) {
      if ((input[off + i]! >>> bit) & 1) result = (result ^ window) >>> 0;
      window = ((window << 1) | ((next >>> bit) & 1)) >>> 0;
    }
  }
  return result;
}

export class ToeplitzHasher {
  /** `table[pos * 256 + value]`: what byte `value` at input position `pos` contributes. */
  private readonly table: Uint32Array;
  readonly maxInput: number;

  constructor(readonly key: Uint8Array = DEFAULT_RSS_KEY) {
    if (key.length < 40) throw new RangeError(`an RSS key has at least 40 bytes, got ${key.length}`);
    this.maxInput = key.length - 4;
    this.table = new Uint32Array(this.maxInput * 256);
    const one = new Uint8Array(this.maxInput);
    for (let pos = 0; pos < this.maxInput; pos++) {
      for (let bit = 0; bit < 8; bit++) {
        one[pos] = 1 << bit;
        const word = toeplitzReference(key, one, 0, pos + 1);
        // Contributions are linear (XOR) in the input bits: fill every byte value.
        for (let v = 0; v < 256; v++) if (v & (1 << bit)) this.table[pos * 256 + v] ^= word;
      }
      one[pos] = 0;
    }
  }

  /** Hash of raw input bytes (at most key length − 4 bytes). */
  hash(input: Uint8Array, off = 0, len = input.length - off): number {
    if (len > this.maxInput) throw new RangeError(`this key hashes at most ${this.maxInput} input bytes`);
    const t = this.table;
    let h = 0;
    for (let i = 0; i < len; i++) h ^= t[i * 256 + input[off + i]!]!;
    return h >>> 0;
  }

  /** Hash of the IPv4 2-tuple, as NICs build it: source address, destination address. */
  hashIpv4(src: number, dst: number): number {
    const t = this.table;
    return (
      t[(src >>> 24)]! ^ t[256 + ((src >>> 16) & 0xff)]! ^ t[512 + ((src >>> 8) & 0xff)]! ^ t[768 + (src & 0xff)]! ^
      t[1024 + (dst >>> 24)]! ^ t[1280 + ((dst >>> 16) & 0xff)]! ^ t[1536 + ((dst >>> 8) & 0xff)]! ^ t[1792 + (dst & 0xff)]!
    ) >>> 0;
  }

  /** Hash of the IPv4 4-tuple: source address, destination address, source port, destination port. */
  hashIpv4Ports(src: number, dst: number, srcPort: number, dstPort: number): number {
    const t = this.table;
    return (
      this.hashIpv4(src, dst) ^
      t[2048 + (srcPort >>> 8)]! ^ t[2304 + (srcPort & 0xff)]! ^ t[2560 + (dstPort >>> 8)]! ^ t[2816 + (dstPort & 0xff)]!
    ) >>> 0;
  }
}
