/**
 * `shoal demo` (for now: the foundation's demo): three endpoints on an in-process
 * learning switch. A sends numbered UDP datagrams to B through seeded faults; B checks
 * and echoes them; C stands by and sees only what the switch floods before it has
 * learned where A and B are. Everything runs in virtual time and ends by itself with a
 * table of what each fault did; the capture of A's side goes to a pcap file.
 *
 * The endpoints speak raw frames here: the TCP/IP stack that will take their place is
 * the next step (DESIGN.md, src/stack).
 */

import type { ParseArgsConfig } from 'node:util';
import { MemoryDevice, MemorySwitch } from '../link/memory/index.js';
import { CaptureDevice } from '../link/capture.js';
import { PcapWriter } from '../link/pcap.js';
import type { Device } from '../link/device.js';
import { Packet } from '../packet/packet.js';
import { FramePool } from '../packet/pool.js';
import { EventLoop } from '../time/loop.js';
import { VirtualClock } from '../time/clock.js';
import { parseIpv4, readU32, writeU32, type Ipv4Address, type MacAddress } from '../wire/addr.js';
import { emitEthernet, ETHERNET_HEADER_LENGTH, ETHERTYPE_IPV4, parseEthernet } from '../wire/ethernet.js';
import { emitIpv4Header, IPPROTO_UDP, IPV4_HEADER_LENGTH, parseIpv4Header } from '../wire/ipv4.js';
import { emitUdp, parseUdp, UDP_HEADER_LENGTH, writeUdpChecksum } from '../wire/udp.js';
import { pseudoHeaderSum } from '../wire/checksum.js';
import { numberFlag, UsageError } from './usage.js';

export const DEMO_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  frames: { type: 'string' },
  seed: { type: 'string' },
  loss: { type: 'string' },
  duplicate: { type: 'string' },
  reorder: { type: 'string' },
  corrupt: { type: 'string' },
  delay: { type: 'string' },
  jitter: { type: 'string' },
  pcap: { type: 'string' },
};

export const DEMO_HELP = `Usage: shoal demo [options]

Three endpoints on an in-process learning switch, in virtual time: A sends numbered
UDP datagrams to B through seeded faults, B checks and echoes them, C only sees what
the switch floods. Prints what each fault did and writes a pcap of A's side.

Options:
  --frames N       datagrams to send (default 10000)
  --seed N         seed of the faults (default 1): the same seed, the same run
  --loss P         probability a frame is lost, each way (default 0.02)
  --duplicate P    probability a frame is duplicated (default 0.01)
  --reorder P      probability a frame is held back behind the next 3 (default 0.02)
  --corrupt P      probability one byte of a frame is flipped (default 0.005)
  --delay MS       one-way delay in ms (default 5)
  --jitter MS      extra uniform delay in ms, order kept (default 1)
  --pcap FILE      capture file (default shoal-demo.pcap; 'none' for no capture)
  -h, --help       this text`;

const PORT = 7777;
const PAYLOAD = 64;

interface Host {
  name: string;
  mac: MacAddress;
  ip: Ipv4Address;
  device: Device;
  outbox: Packet[];
  /** What arrived and passed every check, and what was dropped by a check. */
  received: number;
  badChecksum: number;
  notForUs: number;
  onDatagram?: (seq: number, sentAt: number, from: Host) => void;
}

function host(name: string, index: number, device: MemoryDevice, wrap: (d: MemoryDevice) => Device): Host {
  return { name, mac: device.mac, ip: parseIpv4(`10.0.0.${index}`), device: wrap(device), outbox: [], received: 0, badChecksum: 0, notForUs: 0 };
}

/** A UDP datagram from `from` to `to` carrying a sequence number and a send time. */
function datagram(pool: FramePool, from: Host, to: Host, seq: number, sentAt: number): Packet | null {
  const p = Packet.alloc(pool);
  if (p === null) return null;
  const b = p.bufs[0]!;
  const payloadAt = p.append(PAYLOAD);
  b.fill(0x5a, payloadAt, payloadAt + PAYLOAD);
  writeU32(b, payloadAt, seq);
  new DataView(b.buffer, b.byteOffset).setFloat64(payloadAt + 4, sentAt);
  const len = UDP_HEADER_LENGTH + PAYLOAD;
  const udpAt = p.prepend(UDP_HEADER_LENGTH);
  emitUdp({ srcPort: PORT, dstPort: PORT, length: len }, b, udpAt);
  writeUdpChecksum(from.ip, to.ip, b, udpAt, len);
  const ipAt = p.prepend(IPV4_HEADER_LENGTH);
  emitIpv4Header({ dscp: 0, ecn: 0, totalLength: IPV4_HEADER_LENGTH + len, id: seq & 0xffff, df: true, mf: false, fragmentOffset: 0, ttl: 64, protocol: IPPROTO_UDP, src: from.ip, dst: to.ip }, b, ipAt);
  const ethAt = p.prepend(ETHERNET_HEADER_LENGTH);
  emitEthernet({ dst: to.mac, src: from.mac, ethertype: ETHERTYPE_IPV4 }, p.bufs[0]!, ethAt);
  return p;
}

/** Checks a received frame as a stack would, and hands its datagram on. */
function receive(h: Host, hosts: Host[], p: Packet): void {
  const at = p.front(p.length);
  const b = p.bufs[0]!;
  const eth = parseEthernet(b, at, p.length);
  if (typeof eth === 'string' || eth.dst !== h.mac || eth.ethertype !== ETHERTYPE_IPV4) {
    h.notForUs++;
    return;
  }
  const ipAt = at + ETHERNET_HEADER_LENGTH;
  const ip = parseIpv4Header(b, ipAt, p.length - ETHERNET_HEADER_LENGTH);
  if (typeof ip === 'string') {
    h.badChecksum++;
    return;
  }
  const l4 = ip.totalLength - ip.headerLength;
  const udpAt = ipAt + ip.headerLength;
  const udp = parseUdp(b, udpAt, l4, p.csumVerified ? undefined : pseudoHeaderSum(ip.src, ip.dst, IPPROTO_UDP, l4));
  const from = hosts.find((x) => x.ip === ip.src);
  if (typeof udp === 'string' || ip.dst !== h.ip || from === undefined || udp.length !== UDP_HEADER_LENGTH + PAYLOAD) {
    h.badChecksum++;
    return;
  }
  h.received++;
  const payloadAt = udpAt + UDP_HEADER_LENGTH;
  h.onDatagram?.(readU32(b, payloadAt), new DataView(b.buffer, b.byteOffset).getFloat64(payloadAt + 4), from);
}

function percentile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
}

export async function runDemo(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const frames = numberFlag('frames', values['frames'], 10_000, 1, 10_000_000);
  const seed = numberFlag('seed', values['seed'], 1, 0, 0xffff_ffff);
  const prob = (name: string, d: number) => numberFlag(name, values[name], d, 0, 1);
  const faults = {
    loss: prob('loss', 0.02),
    duplicate: prob('duplicate', 0.01),
    reorder: prob('reorder', 0.02),
    corrupt: prob('corrupt', 0.005),
    delay: numberFlag('delay', values['delay'], 5, 0, 60_000),
    jitter: numberFlag('jitter', values['jitter'], 1, 0, 60_000),
  };
  const pcapPath = typeof values['pcap'] === 'string' ? values['pcap'] : 'shoal-demo.pcap';

  const clock = new VirtualClock();
  const loop = new EventLoop(clock);
  const sw = new MemorySwitch({ seed });
  const writer = pcapPath === 'none' ? null : PcapWriter.toFile(pcapPath, clock.epochMs);
  const devices = [1, 2, 3].map((i) => new MemoryDevice({ name: `mem${i}`, mac: 0x02_00_00_00_00_00 + i }));
  const [a, b, c] = devices.map((d, i) => host('ABC'[i]!, i + 1, d, (x) => (i === 0 && writer ? new CaptureDevice(x, writer, clock) : x)));
  const hosts = [a!, b!, c!];
  sw.attach(devices[0]!, { faults });
  sw.attach(devices[1]!, { faults });
  sw.attach(devices[2]!);
  for (const d of devices) for (const q of d.queues) loop.add(q);
  loop.add(sw);

  const pool = new FramePool({ slotSize: 2048, slots: 4096 });
  for (const h of hosts) {
    const q = h.device.queues[0]!;
    q.setReceiver((burst, n) => {
      for (let i = 0; i < n; i++) {
        receive(h, hosts, burst[i]!);
        burst[i]!.release();
      }
    });
    q.addProvider(() => h.outbox.shift() ?? null);
  }

  // B echoes every datagram; A records what came back, once per sequence number.
  const seenAtB = new Uint8Array(frames);
  let duplicatesAtB = 0;
  let outOfOrderAtB = 0;
  let highestAtB = -1;
  b!.onDatagram = (seq, sentAt, from) => {
    if (seq >= frames) return;
    if (seenAtB[seq]) duplicatesAtB++;
    seenAtB[seq] = 1;
    if (seq < highestAtB) outOfOrderAtB++;
    highestAtB = Math.max(highestAtB, seq);
    const echo = datagram(pool, b!, from, seq, sentAt);
    if (echo) b!.outbox.push(echo);
  };
  const rtts: number[] = [];
  const echoed = new Uint8Array(frames);
  a!.onDatagram = (seq, sentAt) => {
    if (seq >= frames || echoed[seq]) return;
    echoed[seq] = 1;
    rtts.push(clock.now() - sentAt);
  };

  // A sends one datagram every 10 µs of virtual time (about 100,000 a second).
  let sent = 0;
  const sender = loop.timers.create((now) => {
    const p = datagram(pool, a!, b!, sent, now);
    if (p) {
      a!.outbox.push(p);
      sent++;
    }
    if (sent < frames) loop.timers.arm(sender, now + 0.01);
  });
  loop.timers.arm(sender, 0);

  const started = performance.now();
  loop.runUntil();
  const wallMs = performance.now() - started;
  writer?.close();

  rtts.sort((x, y) => x - y);
  const toB = sw.ports[1]!.counters;
  const toA = sw.ports[0]!.counters;
  const received = seenAtB.reduce((n, x) => n + x, 0);
  const back = echoed.reduce((n, x) => n + x, 0);
  const rows: [string, string][] = [
    ['datagrams sent by A', `${sent}`],
    ['distinct datagrams at B', `${received} (${((100 * received) / sent).toFixed(2)}%)`],
    ['echoes back at A', `${back} (${((100 * back) / sent).toFixed(2)}%)`],
    ['lost on the way (switch → B, switch → A)', `${toB.dropped}, ${toA.dropped}`],
    ['duplicated / seen twice at B', `${toB.duplicated + toA.duplicated} / ${duplicatesAtB}`],
    ['held back / out of order at B', `${toB.reordered + toA.reordered} / ${outOfOrderAtB}`],
    ['bytes flipped / frames refused by checks', `${toB.corrupted + toA.corrupted} / ${a!.badChecksum + b!.badChecksum + a!.notForUs + b!.notForUs}`],
    ['round trip p50 / p99 / max (virtual ms)', `${percentile(rtts, 0.5).toFixed(3)} / ${percentile(rtts, 0.99).toFixed(3)} / ${(rtts.at(-1) ?? NaN).toFixed(3)}`],
    ['switch: forwarded / flooded', `${sw.counters.forwarded} / ${sw.counters.flooded}`],
    ['C (bystander) saw frames', `${devices[2]!.totals().rxFrames}`],
    ['virtual time / wall time', `${clock.now().toFixed(1)} ms / ${wallMs.toFixed(0)} ms`],
    ['frames in use after the run (pools)', `${pool.inUse + devices.reduce((n, d) => n + d.pool.inUse, 0)}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`shoal demo: ${frames} datagrams A → B → A through a switch, seed ${seed}`);
  console.log(`faults each way: loss ${faults.loss}, duplicate ${faults.duplicate}, reorder ${faults.reorder}, corrupt ${faults.corrupt}, delay ${faults.delay} ms + jitter ${faults.jitter} ms\n`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
  console.log('\n  Flips land anywhere in a frame, as with netem: one in a source MAC address passes every check.');
  if (writer) console.log(`\ncapture of A's side: ${pcapPath} (${writer.records} frames)`);
  return 0;
}
