/**
 * Test helpers for the memory link: frames built byte by byte (Ethernet + IPv4 +
 * TCP/UDP with correct or partial checksums), a provider that hands out queued
 * packets, and a receiver that records what arrived and releases it.
 */

import { readU16, readU32, writeMac, writeU16, writeU32 } from '../../src/wire/addr.js';
import { addSums, finish, pseudoHeaderSum, sum16 } from '../../src/wire/checksum.js';
import { GSO_TCPV4, Packet } from '../../src/packet/packet.js';
import type { Queue, RxHandler } from '../../src/link/device.js';

export const MAC_A = 0x02_00_00_00_00_0a;
export const MAC_B = 0x02_00_00_00_00_0b;
export const MAC_C = 0x02_00_00_00_00_0c;
export const IP_A = 0x0a_00_00_01;
export const IP_B = 0x0a_00_00_02;

export const ACK = 0x10;
export const PSH = 0x08;
export const FIN = 0x01;
export const CWR = 0x80;
export const ECE = 0x40;

export interface TcpSpec {
  dstMac?: number;
  srcMac?: number;
  src?: number;
  dst?: number;
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  ipId?: number;
  ttl?: number;
  /** Raw TCP option bytes (a multiple of 4). */
  options?: Uint8Array;
  payload?: Uint8Array;
  /** 'full': checksums computed; 'partial': L4 field holds the pseudo-header sum (csumStart set by `packetOf`). */
  csum?: 'full' | 'partial';
  /** Leave the IPv4 header checksum 0 (for a device with txCsumIp). */
  noIpCsum?: boolean;
}

/** An Ethernet + IPv4 + TCP frame. */
export function tcpFrame(s: TcpSpec = {}): Uint8Array {
  const opts = s.options ?? new Uint8Array(0);
  const payload = s.payload ?? new Uint8Array(0);
  const thl = 20 + opts.length;
  const total = 20 + thl + payload.length;
  const b = new Uint8Array(14 + total);
  ethernet(b, s.dstMac ?? MAC_B, s.srcMac ?? MAC_A, 0x0800);
  ipv4(b, total, s.ipId ?? 1, s.ttl ?? 64, 6, s.src ?? IP_A, s.dst ?? IP_B, !s.noIpCsum);
  const t = 34;
  writeU16(b, t, s.sport ?? 40000);
  writeU16(b, t + 2, s.dport ?? 80);
  writeU32(b, t + 4, s.seq ?? 1000);
  writeU32(b, t + 8, s.ack ?? 5000);
  b[t + 12] = (thl >>> 2) << 4;
  b[t + 13] = s.flags ?? ACK;
  writeU16(b, t + 14, s.window ?? 65535);
  b.set(opts, t + 20);
  b.set(payload, t + thl);
  const ps = pseudoHeaderSum(s.src ?? IP_A, s.dst ?? IP_B, 6, thl + payload.length);
  writeU16(b, t + 16, (s.csum ?? 'full') === 'full' ? finish(addSums(ps, sum16(b, t, thl + payload.length))) : ps);
  return b;
}

export interface UdpSpec {
  dstMac?: number;
  srcMac?: number;
  src?: number;
  dst?: number;
  sport?: number;
  dport?: number;
  payload?: Uint8Array;
  /** Fragment offset field (units of 8) / more-fragments flag: makes an IPv4 fragment. */
  fragOffset?: number;
  mf?: boolean;
  csum?: 'full' | 'partial' | 'none';
}

export function udpFrame(s: UdpSpec = {}): Uint8Array {
  const payload = s.payload ?? new Uint8Array(0);
  const ulen = 8 + payload.length;
  const b = new Uint8Array(14 + 20 + ulen);
  ethernet(b, s.dstMac ?? MAC_B, s.srcMac ?? MAC_A, 0x0800);
  ipv4(b, 20 + ulen, 7, 64, 17, s.src ?? IP_A, s.dst ?? IP_B, false);
  writeU16(b, 20, ((s.mf ? 0x2000 : 0) | (s.fragOffset ?? 0)) & 0xffff);
  writeU16(b, 24, finish(sum16(b, 14, 20)));
  writeU16(b, 34, s.sport ?? 5353);
  writeU16(b, 36, s.dport ?? 53);
  writeU16(b, 38, ulen);
  b.set(payload, 42);
  const ps = pseudoHeaderSum(s.src ?? IP_A, s.dst ?? IP_B, 17, ulen);
  const mode = s.csum ?? 'full';
  if (mode === 'full') writeU16(b, 40, finish(addSums(ps, sum16(b, 34, ulen))) || 0xffff);
  else if (mode === 'partial') writeU16(b, 40, ps);
  return b;
}

/** A non-IP frame (an EtherType of our choosing). */
export function rawFrame(dstMac: number, srcMac: number, payloadLen = 46, ethertype = 0x88b5, fill = 0): Uint8Array {
  const b = new Uint8Array(14 + payloadLen);
  ethernet(b, dstMac, srcMac, ethertype);
  b.fill(fill, 14);
  return b;
}

function ethernet(b: Uint8Array, dst: number, src: number, type: number): void {
  writeMac(b, 0, dst);
  writeMac(b, 6, src);
  writeU16(b, 12, type);
}

function ipv4(b: Uint8Array, total: number, id: number, ttl: number, proto: number, src: number, dst: number, csum: boolean): void {
  const o = 14;
  b[o] = 0x45;
  b[o + 1] = 0;
  writeU16(b, o + 2, total);
  writeU16(b, o + 4, id);
  writeU16(b, o + 6, 0x4000);
  b[o + 8] = ttl;
  b[o + 9] = proto;
  writeU32(b, o + 12, src);
  writeU32(b, o + 16, dst);
  if (csum) writeU16(b, o + 10, finish(sum16(b, o, 20)));
}

/** A packet over `bytes`, with offload information. */
export function packetOf(bytes: Uint8Array, off: { csumStart?: number; csumOffset?: number; gsoSize?: number } = {}): Packet {
  const p = Packet.wrap(bytes);
  if (off.csumStart !== undefined) {
    p.csumStart = off.csumStart;
    p.csumOffset = off.csumOffset ?? 16;
  }
  if (off.gsoSize !== undefined) {
    p.gsoSize = off.gsoSize;
    p.gsoType = GSO_TCPV4;
  }
  return p;
}

/** A TSO super-frame as a stack with offloads hands it over: partial L4 sum, IPv4 checksum left 0. */
export function superFrame(s: TcpSpec, mss: number): { bytes: Uint8Array; packet: Packet } {
  const bytes = tcpFrame({ ...s, csum: 'partial', noIpCsum: true });
  return { bytes, packet: packetOf(bytes.slice(), { csumStart: 34, csumOffset: 16, gsoSize: mss }) };
}

export function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** The fields of an Ethernet/IPv4/TCP frame, and whether its checksums hold. */
export function inspectTcp(b: Uint8Array): {
  total: number; id: number; seq: number; ack: number; flags: number; window: number; thl: number;
  payload: Uint8Array; ipOk: boolean; tcpOk: boolean;
} {
  const total = readU16(b, 16);
  const thl = (b[46]! >>> 4) << 2;
  const tcpLen = total - 20;
  const ps = pseudoHeaderSum(readU32(b, 26), readU32(b, 30), 6, tcpLen);
  return {
    total,
    id: readU16(b, 18),
    seq: readU32(b, 38),
    ack: readU32(b, 42),
    flags: b[47]!,
    window: readU16(b, 48),
    thl,
    payload: b.slice(34 + thl, 14 + total),
    ipOk: finish(sum16(b, 14, 20)) === 0,
    tcpOk: finish(addSums(ps, sum16(b, 34, tcpLen))) === 0,
  };
}

/** Hands out queued packets to a queue (a TX provider), counting how often it is asked. */
export class Source {
  readonly pending: Packet[] = [];
  asked = 0;
  readonly provider = (): Packet | null => {
    this.asked++;
    return this.pending.shift() ?? null;
  };

  constructor(queue?: Queue) {
    queue?.addProvider(this.provider);
  }

  push(...ps: Packet[]): this {
    this.pending.push(...ps);
    return this;
  }
}

export interface Received {
  bytes: Uint8Array;
  csumVerified: boolean;
  csumStart: number;
  gsoSize: number;
  reassembled: boolean;
  rssHash: number;
  queue: number;
  at: number;
}

/** Records copies of what a device's queues deliver and releases the packets (unless `keep`). */
export class Sink {
  readonly got: Received[] = [];
  readonly bursts: number[] = [];
  readonly kept: Packet[] = [];
  now = (): number => 0;

  constructor(queues: readonly Queue[], private readonly keep = false) {
    for (const q of queues) q.setReceiver(this.handler(q.id));
  }

  private handler(queue: number): RxHandler {
    return (burst, count) => {
      this.bursts.push(count);
      for (let i = 0; i < count; i++) {
        const p = burst[i]!;
        this.got.push({
          bytes: p.toBytes(), csumVerified: p.csumVerified, csumStart: p.csumStart, gsoSize: p.gsoSize,
          reassembled: p.reassembled, rssHash: p.rssHash, queue, at: this.now(),
        });
        if (this.keep) this.kept.push(p);
        else p.release();
      }
    };
  }
}
