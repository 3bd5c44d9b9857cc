/**
 * A pcap writer (the classic libpcap format, as Wireshark's and tshark's readers take
 * it): nanosecond timestamps (magic 0xa1b23c4d), LINKTYPE_ETHERNET, and a snap length
 * of 262144 so that 64 KB GSO frames are kept whole. Records are gathered in one
 * fixed buffer and written out when it fills, at `flush()` and at `close()`.
 */

import { closeSync, openSync, writeSync } from 'node:fs';
import type { Packet } from '../packet/packet.js';

export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_SNAPLEN = 262144;
const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/** Where the bytes go. */
export interface PcapSink {
  write(bytes: Uint8Array): void;
  close(): void;
}

/** Writes to a file (created or truncated). */
export class FileSink implements PcapSink {
  private fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Keeps the bytes in memory (tests, small captures). */
export class MemorySink implements PcapSink {
  readonly chunks: Uint8Array[] = [];

  write(bytes: Uint8Array): void {
    this.chunks.push(bytes.slice());
  }

  close(): void {}

  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

export class PcapWriter {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private used = 0;
  private closed = false;
  /** Records written, and bytes of frames cut to the snap length. */
  records = 0;
  truncated = 0;

  /**
   * Record times are given in milliseconds after `epochMs` (a clock's origin), so the
   * nanoseconds survive: an absolute time in ms as a double keeps only microseconds.
   */
  constructor(
    private readonly sink: PcapSink,
    readonly epochMs = 0,
    bufferSize = 1 << 20,
  ) {
    this.buf = new Uint8Array(Math.max(bufferSize, PCAP_SNAPLEN + RECORD_HEADER + FILE_HEADER));
    this.view = new DataView(this.buf.buffer);
    const v = this.view;
    v.setUint32(0, PCAP_MAGIC_NS, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, PCAP_SNAPLEN, true);
    v.setUint32(20, LINKTYPE_ETHERNET, true);
    this.used = FILE_HEADER;
  }

  static toFile(path: string, epochMs = 0): PcapWriter {
    return new PcapWriter(new FileSink(path), epochMs);
  }

  /** Records a frame seen at `timeMs` after the writer's `epochMs` (fractional ms). */
  write(packet: Packet, timeMs: number): void {
    if (this.closed) return;
    const caplen = Math.min(packet.length, PCAP_SNAPLEN);
    if (caplen < packet.length) this.truncated++;
    if (this.used + RECORD_HEADER + caplen > this.buf.length) this.flush();
    const originSec = Math.floor(this.epochMs / 1000);
    const ms = this.epochMs - originSec * 1000 + timeMs;
    let sec = originSec + Math.floor(ms / 1000);
    let nsec = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1e6);
    if (nsec >= 1e9) {
      sec++;
      nsec -= 1e9;
    }
    const v = this.view;
    v.setUint32(this.used, sec, true);
    v.setUint32(this.used + 4, nsec, true);
    v.setUint32(this.used + 8, caplen, true);
    v.setUint32(this.used + 12, packet.length, true);
    packet.copyTo(this.buf, this.used + RECORD_HEADER, 0, caplen);
    this.used += RECORD_HEADER + caplen;
    this.records++;
  }

  flush(): void {
    if (this.used > 0) this.sink.write(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.sink.close();
  }
}
