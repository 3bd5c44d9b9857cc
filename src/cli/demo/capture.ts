/**
 * Where the demo's pcap goes: a file that takes the PcapWriter's flushes (each made of
 * whole records) until the next would pass `limit` bytes; from then on records are
 * counted, not written. A run moves gigabytes a second, so a capture of all of it would
 * be as large: the file keeps the start (ARP, handshakes, the first requests) and stays
 * a valid pcap, since it is never cut inside a record.
 */

import { FileSink, type PcapSink } from '../../link/pcap.js';

const FILE_HEADER = 24;
const RECORD_HEADER = 16;

export class CappedPcapFile implements PcapSink {
  /** Bytes written, records written, and records left out once the limit was reached. */
  bytes = 0;
  records = 0;
  skipped = 0;
  private readonly file: FileSink;
  private first = true;
  private full = false;

  constructor(
    readonly path: string,
    readonly limit: number,
  ) {
    this.file = new FileSink(path);
  }

  write(chunk: Uint8Array): void {
    const at = this.first ? FILE_HEADER : 0;
    const n = countRecords(chunk, at);
    // The first flush carries the file header: it is always written.
    if (!this.first && (this.full || this.bytes + chunk.length > this.limit)) {
      this.full = true;
      this.skipped += n;
      return;
    }
    this.first = false;
    this.file.write(chunk);
    this.bytes += chunk.length;
    this.records += n;
  }

  close(): void {
    this.file.close();
  }
}

/** The pcap records in `chunk` from `at` (each: a 16-byte header whose caplen is at +8, then caplen bytes). */
function countRecords(chunk: Uint8Array, at: number): number {
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  let n = 0;
  while (at + RECORD_HEADER <= chunk.length) {
    at += RECORD_HEADER + view.getUint32(at + 8, true);
    n++;
  }
  return n;
}
