/**
 * Foundation benchmarks (issue 2): checksum, Toeplitz, the frame pool. Each is measured
 * against the plain way of doing the same thing in the same run.
 */
import { checksum } from '../src/wire/checksum.js';
import { DEFAULT_RSS_KEY, ToeplitzHasher, toeplitzReference } from '../src/wire/toeplitz.js';
import { FramePool } from '../src/packet/pool.js';
import { Packet } from '../src/packet/packet.js';
import { emitTcp, parseTcp, TCP_ACK } from '../src/wire/tcp.js';
import { rate, type BenchRow } from './harness.js';

/** The textbook RFC 1071 loop, one 16-bit word at a time. */
function checksumBytewise(b: Uint8Array, off: number, len: number): number {
  let sum = 0;
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

let sink = 0;

export function foundationBenchmarks(): BenchRow[] {
  const rows: BenchRow[] = [];
  const pool = new FramePool({ slotSize: 65536 + 256, slots: 4 });
  const data = pool.bytes;
  for (let i = 0; i < 65536 + 256; i++) data[i] = (i * 131 + 7) & 0xff;

  for (const size of [1500, 65536]) {
    // Offset 14: the TCP/IP part of a frame starts after the Ethernet header, unaligned.
    const gbps = (r: number) => (r * size) / 1e9;
    const fast = gbps(rate(() => (sink ^= checksum(data, 14, size))));
    const ref = gbps(rate(() => (sink ^= checksumBytewise(data, 14, size))));
    rows.push({ group: 'checksum', name: `${size} B`, value: fast, unit: 'GB/s', reference: { name: 'bytewise loop', value: ref } });
  }

  const hasher = new ToeplitzHasher();
  const tuple = new Uint8Array(12);
  let x = 1;
  const fast = rate(() => {
    for (let i = 0; i < 64; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      sink ^= hasher.hashIpv4Ports(x, 0x0a000001, x & 0xffff, 80);
    }
  }, 64);
  const ref = rate(() => {
    for (let i = 0; i < 64; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      tuple[0] = x >>> 24;
      tuple[3] = x & 0xff;
      sink ^= toeplitzReference(DEFAULT_RSS_KEY, tuple);
    }
  }, 64);
  rows.push({ group: 'toeplitz', name: 'IPv4 4-tuple', value: fast, unit: 'hash/s', reference: { name: 'bit-by-bit', value: ref } });

  const frames = new FramePool({ slotSize: 2048, slots: 1024 });
  const held = new Int32Array(32);
  const poolRate = rate(() => {
    for (let i = 0; i < 32; i++) held[i] = frames.alloc();
    for (let i = 0; i < 32; i++) frames.release(held[i]!);
  }, 32);
  const heldBufs: ArrayBuffer[] = [];
  const allocRate = rate(() => {
    for (let i = 0; i < 32; i++) heldBufs.push(new ArrayBuffer(2048));
    heldBufs.length = 0;
  }, 32);
  rows.push({ group: 'pool', name: 'frame alloc+release', value: poolRate, unit: 'op/s', reference: { name: 'new ArrayBuffer(2048)', value: allocRate } });

  const packetRate = rate(() => {
    for (let i = 0; i < 32; i++) {
      const p = Packet.alloc(frames)!;
      p.append(1000);
      p.prepend(20);
      p.prepend(20);
      p.prepend(14);
      p.release();
    }
  }, 32);
  rows.push({ group: 'packet', name: 'alloc, 3 prepends, release', value: packetRate, unit: 'op/s' });
  // A data segment with timestamps, as Linux sends it: 32 bytes of header.
  const seg = new Uint8Array(64);
  const fields = { srcPort: 40000, dstPort: 80, seq: 1, ack: 1, flags: TCP_ACK, window: 502, urgent: 0, options: { tsVal: 1, tsEcr: 2 } };
  const tcpRate = rate(() => {
    for (let i = 0; i < 32; i++) {
      fields.seq = (fields.seq + 1448) >>> 0;
      const n = emitTcp(fields, seg, 0);
      const h = parseTcp(seg, 0, n);
      if (typeof h !== 'string') sink ^= h.seq;
    }
  }, 32);
  rows.push({ group: 'tcp header', name: 'emit+parse (with timestamps)', value: tcpRate, unit: 'op/s' });
  if (sink === 0.5) console.log(sink);
  return rows;
}
