/**
 * A command line cut into tokens as memcached's tokenize_command does: tokens are separated
 * by one or more spaces (only ' ': a tab is part of a token), and the line ends at its first
 * NUL byte (the C code works on a NUL-terminated string). Tokens are offsets into the line's
 * buffer; the arrays are reused from line to line.
 */

export class Tokens {
  buf: Buffer = Buffer.alloc(0);
  count = 0;
  private starts = new Int32Array(8);
  private ends = new Int32Array(8);

  /** Cuts bytes[start, end) into tokens. */
  split(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.count = 0;
    const nul = buf.indexOf(0, start);
    if (nul >= 0 && nul < end) end = nul;
    let i = start;
    while (i < end) {
      while (i < end && buf[i] === 0x20) i++;
      if (i === end) break;
      const s = i;
      while (i < end && buf[i] !== 0x20) i++;
      this.push(s, i);
    }
  }

  start(i: number): number {
    return this.starts[i]!;
  }

  end(i: number): number {
    return this.ends[i]!;
  }

  length(i: number): number {
    return this.ends[i]! - this.starts[i]!;
  }

  /** The token as a string, byte for byte (latin1), so binary keys survive. */
  text(i: number): string {
    return this.buf.toString('latin1', this.starts[i]!, this.ends[i]!);
  }

  /** Whether token i is exactly the given ASCII word. */
  is(i: number, word: string): boolean {
    const s = this.starts[i]!;
    if (this.ends[i]! - s !== word.length) return false;
    for (let k = 0; k < word.length; k++) if (this.buf[s + k] !== word.charCodeAt(k)) return false;
    return true;
  }

  /** Whether token i begins with the given ASCII word. */
  startsWith(i: number, word: string): boolean {
    const s = this.starts[i]!;
    if (this.ends[i]! - s < word.length) return false;
    for (let k = 0; k < word.length; k++) if (this.buf[s + k] !== word.charCodeAt(k)) return false;
    return true;
  }

  private push(s: number, e: number): void {
    if (this.count === this.starts.length) {
      const starts = new Int32Array(this.count * 2);
      const ends = new Int32Array(this.count * 2);
      starts.set(this.starts);
      ends.set(this.ends);
      this.starts = starts;
      this.ends = ends;
    }
    this.starts[this.count] = s;
    this.ends[this.count] = e;
    this.count++;
  }
}
