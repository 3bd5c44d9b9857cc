/**
 * Frames per second through the memory switch, against the same number of UDP
 * datagrams through the kernel's loopback with node:dgram (what an application in
 * this process would otherwise use to move packets between two endpoints).
 */
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { MemoryDevice, MemorySwitch } from '../src/link/memory/index.js';
import { GSO_TCPV4, Packet } from '../src/packet/packet.js';
import { emitTcp, TCP_ACK } from '../src/wire/tcp.js';
import { pseudoHeaderSum } from '../src/wire/checksum.js';
import { writeU16 } from '../src/wire/addr.js';
import { EventLoop } from '../src/time/loop.js';
import { VirtualClock } from '../src/time/clock.js';
import { emitEthernet, ETHERTYPE_IPV4 } from '../src/wire/ethernet.js';
import { emitIpv4Header, IPPROTO_UDP } from '../src/wire/ipv4.js';
import { emitUdp, writeUdpChecksum } from '../src/wire/udp.js';
import type { BenchRow } from './harness.js';

const A = 0x02_00_00_00_00_01;
const B = 0x02_00_00_00_00_02;

function udpFrameBytes(payload: number): Uint8Array {
  const b = new Uint8Array(14 + 20 + 8 + payload);
  emitEthernet({ dst: B, src: A, ethertype: ETHERTYPE_IPV4 }, b, 0);
  emitIpv4Header({ dscp: 0, ecn: 0, totalLength: 28 + payload, id: 1, df: true, mf: false, fragmentOffset: 0, ttl: 64, protocol: IPPROTO_UDP, src: 0x0a000001, dst: 0x0a000002 }, b, 14);
  emitUdp({ srcPort: 1, dstPort: 2, length: 8 + payload }, b, 34);
  writeUdpChecksum(0x0a000001, 0x0a000002, b, 34, 8 + payload);
  return b;
}

/** A TSO super-frame as a stack hands it over: 44 segments of 1448 bytes, checksum left partial. */
function superFrameBytes(): Uint8Array {
  const payload = 44 * 1448;
  const b = new Uint8Array(14 + 20 + 20 + payload);
  emitEthernet({ dst: B, src: A, ethertype: ETHERTYPE_IPV4 }, b, 0);
  emitIpv4Header({ dscp: 0, ecn: 0, totalLength: 40 + payload, id: 1, df: true, mf: false, fragmentOffset: 0, ttl: 64, protocol: 6, src: 0x0a000001, dst: 0x0a000002 }, b, 14);
  emitTcp({ srcPort: 1, dstPort: 2, seq: 1, ack: 1, flags: TCP_ACK, window: 65535, urgent: 0 }, b, 34);
  writeU16(b, 34 + 16, pseudoHeaderSum(0x0a000001, 0x0a000002, 6, 20 + payload));
  return b;
}

/** Frames/s from A to B through a switch, for `ms` of wall time. */
function switchRate(payload: number, ms: number): number {
  return mediumRate(udpFrameBytes(payload), false, ms);
}

function mediumRate(frame: Uint8Array, tso: boolean, ms: number): number {
  const loop = new EventLoop(new VirtualClock());
  const sw = new MemorySwitch();
  const a = new MemoryDevice({ mac: A });
  const b = new MemoryDevice({ mac: B });
  sw.attach(a);
  sw.attach(b);
  for (const q of [...a.queues, ...b.queues]) loop.add(q);
  loop.add(sw);
  a.queues[0]!.addProvider(() => {
    const p = Packet.wrap(frame);
    if (tso) {
      p.gsoSize = 1448;
      p.gsoType = GSO_TCPV4;
      p.csumStart = 34;
      p.csumOffset = 16;
    }
    return p;
  });
  let received = 0;
  b.queues[0]!.setReceiver((burst, n) => {
    for (let i = 0; i < n; i++) burst[i]!.release();
    received += n;
  });
  // The first frame floods; after B answers nothing, the switch still learns A. Warm up.
  for (let i = 0; i < 2000; i++) loop.runOnce();
  received = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 50; i++) loop.runOnce();
    now = performance.now();
  }
  return received / ((now - start) / 1000);
}

/** Datagrams/s from one node:dgram socket to another over 127.0.0.1. */
async function dgramRate(payload: number, ms: number): Promise<number> {
  const rx = createSocket('udp4');
  const tx = createSocket('udp4');
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  const port = rx.address().port;
  let received = 0;
  rx.on('message', () => received++);
  const msg = Buffer.alloc(payload, 0x5a);
  const start = performance.now();
  // Keep a bounded number in flight so the kernel's socket buffer is not overrun.
  await new Promise<void>((resolve) => {
    let sent = 0;
    const pump = () => {
      if (performance.now() - start >= ms) return resolve();
      while (sent - received < 256) {
        tx.send(msg, port, '127.0.0.1');
        sent++;
      }
      setImmediate(pump);
    };
    pump();
  });
  const elapsed = performance.now() - start;
  rx.close();
  tx.close();
  return received / (elapsed / 1000);
}

export async function linkBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const payload of [18, 1472]) {
    const shoal = switchRate(payload, 1000);
    const kernel = await dgramRate(payload, 1000);
    const size = 14 + 28 + payload;
    rows.push({ group: 'memory switch', name: `${size}-byte frames`, value: shoal, unit: 'frame/s', reference: { name: 'node:dgram loopback', value: kernel } });
    rows.push({ group: 'memory switch', name: `${size}-byte frames`, value: (shoal * size * 8) / 1e9, unit: 'Gbit/s', reference: { name: 'node:dgram loopback', value: (kernel * size * 8) / 1e9 } });
  }
  const sf = superFrameBytes();
  const sfRate = mediumRate(sf, true, 1000);
  rows.push({ group: 'memory switch', name: '64 KB TSO super-frames (LRO fast path)', value: (sfRate * sf.length * 8) / 1e9, unit: 'Gbit/s' });
  return rows;
}
