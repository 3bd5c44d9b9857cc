/**
 * The TAP link's TypeScript half without the addon: the virtio_net_hdr ↔ Packet offload
 * mapping, the receive side turning the addon's records into packets (fed by a model of
 * the addon's readv into the posted buffers), and the transmit side describing bursts
 * (checked against what the addon would read).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GSO_TCPV4, GSO_TCPV6, Packet } from '../../src/packet/packet.js';
import { FramePool } from '../../src/packet/pool.js';
import { newQueueStats } from '../../src/link/device.js';
import {
  RX_ERRNO, RX_HEADER_WORDS, RX_LARGE, RX_LARGE_USED, RX_NO_BUFFER, RX_REC_CSUM_OFFSET, RX_REC_CSUM_START, RX_REC_FLAGS,
  RX_REC_GSO_SIZE, RX_REC_GSO_TYPE, RX_REC_HDR_LEN, RX_REC_LEN, RX_REC_STATUS, RX_REC_WORDS, RX_SMALL, RX_TRUNCATED,
  TX_CSUM_OFFSET, TX_CSUM_START, TX_FLAGS, TX_FRAG_WORDS, TX_FRAGS, TX_FRAME_WORDS, TX_GSO_SIZE, TX_GSO_TYPE, TX_HDR_LEN, TX_RESULT, VNET_HDR_LEN,
} from '../../src/link/tap/layout.js';
import { newTapRxCounters, TAP_RX_HEADROOM, TapReceiver } from '../../src/link/tap/rx.js';
import { newTapTxCounters, TapTransmitter } from '../../src/link/tap/tx.js';
import { applyRxHeader, VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_ECN, writeTxHeader } from '../../src/link/tap/vnet-header.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { TCP_ACK } from '../../src/wire/tcp.js';
import { tcpFrame, type Endpoints } from '../support/frames.js';

const E: Endpoints = { srcMac: 0x02_00_00_00_00_01, dstMac: 0x02_00_00_00_00_02, src: parseIpv4('10.77.0.1'), dst: parseIpv4('10.77.0.2') };
const L4 = 14 + 20;

function frame(payload: number, withOptions = false): Uint8Array {
  const data = new Uint8Array(payload).map((_, i) => (i * 31 + 7) & 0xff);
  const options = withOptions ? { tsVal: 1, tsEcr: 2 } : undefined;
  return tcpFrame(E, { srcPort: 5201, dstPort: 40000, seq: 1, ack: 1, flags: TCP_ACK, window: 1000, urgent: 0, ...(options ? { options } : {}) }, data);
}

// --- virtio_net_hdr ↔ Packet -------------------------------------------------------

test('vnet header in: NEEDS_CSUM is a partial checksum the kernel vouches for', () => {
  const p = Packet.wrap(frame(100));
  applyRxHeader(p, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, L4, 16);
  assert.equal(p.csumStart, L4);
  assert.equal(p.csumOffset, 16);
  assert.equal(p.csumVerified, true);
  assert.equal(p.gsoSize, 0);
  assert.equal(p.reassembled, false);
});

test('vnet header in: DATA_VALID marks the checksum verified, nothing partial', () => {
  const p = Packet.wrap(frame(100));
  applyRxHeader(p, VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0);
  assert.equal(p.csumVerified, true);
  assert.equal(p.csumStart, -1);
});

test('vnet header in: no flags, nothing trusted', () => {
  const p = Packet.wrap(frame(100));
  applyRxHeader(p, 0, 0, 0, L4, 16);
  assert.equal(p.csumVerified, false);
  assert.equal(p.csumStart, -1);
});

test('vnet header in: a NEEDS_CSUM whose field lies past the frame is not believed', () => {
  const p = Packet.wrap(frame(0));
  applyRxHeader(p, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, p.length - 10, 16);
  assert.equal(p.csumStart, -1);
  assert.equal(p.csumVerified, false);
});

test('vnet header in: a GSO frame is one packet standing for its segments (LRO), the ECN bit aside', () => {
  const p = Packet.wrap(frame(20000));
  applyRxHeader(p, VIRTIO_NET_HDR_F_NEEDS_CSUM, GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1448, L4, 16);
  assert.equal(p.gsoType, GSO_TCPV4);
  assert.equal(p.gsoSize, 1448);
  assert.equal(p.reassembled, true);
  const q = Packet.wrap(frame(100));
  applyRxHeader(q, VIRTIO_NET_HDR_F_NEEDS_CSUM, GSO_TCPV6, 0, L4, 16);
  assert.equal(q.gsoSize, 0, 'gso_size 0 is no GSO');
  assert.equal(q.reassembled, false);
});

test('vnet header out: a frame without offloads has an all-zero header', () => {
  const out = new Int32Array(6).fill(-9);
  assert.ok(writeTxHeader(Packet.wrap(frame(100)), out, 0));
  assert.deepEqual(Array.from(out), [0, 0, 0, 0, 0, 0]);
});

test('vnet header out: a partial checksum is NEEDS_CSUM with its start and offset', () => {
  const p = Packet.wrap(frame(100));
  p.csumStart = L4;
  p.csumOffset = 16;
  const out = new Int32Array(6);
  assert.ok(writeTxHeader(p, out, 0));
  assert.deepEqual(Array.from(out), [VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, L4 + 18, 0, L4, 16]);
});

test('vnet header out: a TSO frame has gso_type, gso_size and hdr_len up to the end of its TCP header (options included)', () => {
  for (const withOptions of [false, true]) {
    const p = Packet.wrap(frame(30000, withOptions));
    p.csumStart = L4;
    p.csumOffset = 16;
    p.gsoSize = 1448;
    p.gsoType = GSO_TCPV4;
    const out = new Int32Array(8);
    assert.ok(writeTxHeader(p, out, 2));
    const tcpLen = withOptions ? 32 : 20;
    assert.deepEqual(Array.from(out.subarray(2)), [VIRTIO_NET_HDR_F_NEEDS_CSUM, GSO_TCPV4, L4 + tcpLen, 1448, L4, 16]);
  }
});

test('vnet header out: GSO without a partial checksum at a TCP header is refused', () => {
  const p = Packet.wrap(frame(3000));
  p.gsoSize = 1448;
  p.gsoType = GSO_TCPV4;
  assert.equal(writeTxHeader(p, new Int32Array(6), 0), false, 'no checksum offload');
  p.csumStart = p.length - 4;
  p.csumOffset = 16;
  assert.equal(writeTxHeader(p, new Int32Array(6), 0), false, 'csum_start too near the end for a TCP header');
});

test('vnet header: what goes out comes back in as the same offload fields', () => {
  const sent = Packet.wrap(frame(30000));
  sent.csumStart = L4;
  sent.csumOffset = 16;
  sent.gsoSize = 1460;
  sent.gsoType = GSO_TCPV4;
  const h = new Int32Array(6);
  assert.ok(writeTxHeader(sent, h, 0));
  const got = Packet.wrap(frame(30000));
  applyRxHeader(got, h[0]!, h[1]!, h[3]!, h[4]!, h[5]!);
  for (const k of ['csumStart', 'csumOffset', 'gsoSize', 'gsoType'] as const) assert.equal(got[k], sent[k], k);
});

// --- receive: records into packets -----------------------------------------------------

interface KernelFrame {
  bytes: Uint8Array;
  flags?: number;
  gsoType?: number;
  gsoSize?: number;
  csumStart?: number;
  csumOffset?: number;
}

/**
 * What the addon's receive does (native/rx.cc), over frames a test queues: a readv per
 * frame into the posted small buffer (vnet header in the 12 bytes in front) and the next
 * posted large one, a record per frame.
 */
function modelRead(rx: TapReceiver, small: FramePool, large: FramePool | null, frames: KernelFrame[], max: number): number {
  const c = rx.ctrl;
  const burst = rx.burst;
  const recs = RX_HEADER_WORDS + 2 * burst;
  let n = 0;
  let used = 0;
  c[RX_ERRNO] = 0;
  while (n < max && frames.length > 0) {
    const f = frames.shift()!;
    const r = recs + n * RX_REC_WORDS;
    c.fill(0, r, r + RX_REC_WORDS);
    const off = c[RX_HEADER_WORDS + n]!;
    const loff = large !== null && used < burst ? c[RX_HEADER_WORDS + burst + used]! : -1;
    n++;
    c[r + RX_REC_LEN] = f.bytes.length;
    if (off < 0) {
      c[r + RX_REC_STATUS] = RX_NO_BUFFER;
      continue;
    }
    const cap = rx.smallCap + (loff >= 0 ? rx.largeCap : 0);
    if (VNET_HDR_LEN + f.bytes.length >= VNET_HDR_LEN + cap) {
      c[r + RX_REC_STATUS] = RX_TRUNCATED;
      continue;
    }
    small.bytes.fill(0xee, off - VNET_HDR_LEN, off);
    const head = Math.min(f.bytes.length, rx.smallCap);
    small.bytes.set(f.bytes.subarray(0, head), off);
    if (f.bytes.length > rx.smallCap) {
      large!.bytes.set(f.bytes.subarray(head), loff);
      used++;
      c[r + RX_REC_STATUS] = RX_LARGE;
    } else {
      c[r + RX_REC_STATUS] = RX_SMALL;
    }
    c[r + RX_REC_FLAGS] = f.flags ?? 0;
    c[r + RX_REC_GSO_TYPE] = f.gsoType ?? 0;
    c[r + RX_REC_HDR_LEN] = 0;
    c[r + RX_REC_GSO_SIZE] = f.gsoSize ?? 0;
    c[r + RX_REC_CSUM_START] = f.csumStart ?? 0;
    c[r + RX_REC_CSUM_OFFSET] = f.csumOffset ?? 0;
  }
  c[RX_LARGE_USED] = used;
  return n;
}

function receiver(burst: number, smallSlots: number, largeSlots: number) {
  const small = new FramePool({ slotSize: 2048, slots: smallSlots });
  const large = largeSlots > 0 ? new FramePool({ slotSize: 65536, slots: largeSlots }) : null;
  const stats = newQueueStats();
  const counters = newTapRxCounters();
  const rx = new TapReceiver(burst, small, large, stats, counters);
  return { small, large, stats, counters, rx };
}

test('tap receive: frames become packets with their bytes and offloads; a GSO frame spans its small and large buffer', () => {
  const { small, large, stats, counters, rx } = receiver(8, 64, 16);
  assert.equal(rx.smallCap, 2048 - TAP_RX_HEADROOM);
  const plain = frame(100);
  const gso = frame(40000);
  const queue: KernelFrame[] = [
    { bytes: plain, flags: VIRTIO_NET_HDR_F_DATA_VALID },
    { bytes: gso, flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: GSO_TCPV4, gsoSize: 1448, csumStart: L4, csumOffset: 16 },
    { bytes: frame(1448), flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, csumStart: L4, csumOffset: 16 },
  ];
  const out: Packet[] = [];
  const n = modelRead(rx, small, large, queue, 8);
  assert.equal(rx.collect(n, out), 3);
  assert.deepEqual(out[0]!.toBytes(), plain);
  assert.equal(out[0]!.csumVerified, true);
  assert.equal(out[0]!.fragmentCount, 1);
  assert.deepEqual(out[1]!.toBytes(), gso);
  assert.equal(out[1]!.fragmentCount, 2, 'small buffer, then the large one');
  assert.equal(out[1]!.gsoSize, 1448);
  assert.equal(out[1]!.reassembled, true);
  assert.equal(out[2]!.csumStart, L4);
  assert.deepEqual({ ...counters }, { rxGsoFrames: 1, rxCsumPartial: 2, rxCsumValid: 1, rxNoBuffer: 0, rxTruncated: 0, rxErrno: 0 });
  assert.equal(stats.rxFrames, 3);
  assert.equal(stats.rxBytes, plain.length + gso.length + frame(1448).length);
  // The posted buffers were replaced: a burst's worth stays posted while packets are held.
  assert.equal(small.inUse, 8 + 3, '8 posted + 3 held');
  assert.equal(large!.inUse, 8 + 1, '8 posted + the one the GSO frame holds');
  for (const p of out.slice(0, 3)) p.release();
  rx.clear();
  assert.equal(small.inUse, 0);
  assert.equal(large!.inUse, 0);
});

test('tap receive: several GSO frames in one burst take the large buffers in order, and the rest move up', () => {
  const { small, large, rx } = receiver(4, 64, 16);
  const frames = [frame(5000), frame(100), frame(6000), frame(7000)];
  const out: Packet[] = [];
  for (let round = 0; round < 3; round++) {
    const n = modelRead(rx, small, large, frames.map((bytes) => ({ bytes })), 4);
    assert.equal(rx.collect(n, out), 4);
    frames.forEach((f, i) => assert.deepEqual(out[i]!.toBytes(), f, `round ${round}, frame ${i}`));
    for (let i = 0; i < 4; i++) out[i]!.release();
  }
  const posted = Array.from(rx.ctrl.subarray(RX_HEADER_WORDS + 4, RX_HEADER_WORDS + 8));
  assert.equal(new Set(posted).size, 4, 'four distinct large buffers posted');
  assert.ok(posted.every((o) => o >= 0));
});

test('tap receive: with the pool empty, frames are read and dropped (counted), and reception resumes when frames return', () => {
  const { small, large, stats, counters, rx } = receiver(4, 6, 8);
  const out: Packet[] = [];
  // 4 posted + 2 spare: after 4 frames held, only 2 buffers could be posted again.
  let n = modelRead(rx, small, large, [1, 2, 3, 4].map(() => ({ bytes: frame(50) })), 4);
  assert.equal(rx.collect(n, out), 4);
  const held = out.slice(0, 4);
  n = modelRead(rx, small, large, [1, 2, 3, 4].map(() => ({ bytes: frame(50) })), 4);
  assert.equal(rx.collect(n, out), 2);
  out[0]!.release();
  out[1]!.release();
  assert.equal(counters.rxNoBuffer, 2);
  assert.equal(stats.rxDrops, 2);
  for (const p of held) p.release();
  rx.refill();
  n = modelRead(rx, small, large, [1, 2, 3, 4].map(() => ({ bytes: frame(50) })), 4);
  assert.equal(rx.collect(n, out), 4, 'buffers posted again once the pool had frames');
  for (let i = 0; i < 4; i++) out[i]!.release();
  rx.clear();
  assert.equal(small.inUse, 0);
});

test('tap receive: a ring left with no buffer posted at all drops, then is refilled before the next read once frames return', () => {
  const { small, counters, rx } = receiver(2, 2, 2);
  const out: Packet[] = [];
  let n = modelRead(rx, small, null, [{ bytes: frame(50) }, { bytes: frame(50) }], 2);
  assert.equal(rx.collect(n, out), 2);
  const held = out.slice(0, 2);
  // Both slots are held: nothing could be posted, so the next frames are dropped.
  n = modelRead(rx, small, null, [{ bytes: frame(50) }, { bytes: frame(50) }], 2);
  assert.equal(rx.collect(n, out), 0);
  assert.equal(counters.rxNoBuffer, 2);
  rx.refill();
  assert.equal(rx.ctrl[RX_HEADER_WORDS]!, -1, 'still nothing to post while the frames are held');
  for (const p of held) p.release();
  // What the queue does before each read.
  rx.refill();
  n = modelRead(rx, small, null, [{ bytes: frame(60) }, { bytes: frame(70) }], 2);
  assert.equal(rx.collect(n, out), 2);
  assert.deepEqual([out[0]!.length, out[1]!.length], [frame(60).length, frame(70).length]);
  for (let i = 0; i < 2; i++) out[i]!.release();
  rx.clear();
  assert.equal(small.inUse, 0);
});

test('tap receive: without a large pool a frame longer than the small buffer is dropped as truncated', () => {
  const { small, counters, rx } = receiver(4, 16, 0);
  const out: Packet[] = [];
  const n = modelRead(rx, small, null, [{ bytes: frame(5000) }, { bytes: frame(10) }], 4);
  assert.equal(rx.collect(n, out), 1);
  assert.equal(counters.rxTruncated, 1);
  assert.equal(out[0]!.length, frame(10).length);
  out[0]!.release();
  rx.clear();
  assert.equal(small.inUse, 0);
});

// --- transmit: bursts described for the addon -----------------------------------------

/** Reads a frame back from the control array as the addon would: its header and bytes. */
function readFrame(ctrl: Int32Array, at: number, bufs: (Uint8Array | null)[]) {
  const nf = ctrl[at + TX_FRAGS]!;
  const parts: number[] = [];
  for (let k = 0, f = at + TX_FRAME_WORDS; k < nf; k++, f += TX_FRAG_WORDS) {
    const b = bufs[ctrl[f]!]!;
    parts.push(...b.subarray(ctrl[f + 1]!, ctrl[f + 1]! + ctrl[f + 2]!));
  }
  const header = [TX_FLAGS, TX_GSO_TYPE, TX_HDR_LEN, TX_GSO_SIZE, TX_CSUM_START, TX_CSUM_OFFSET].map((i) => ctrl[at + i]!);
  return { header, bytes: Uint8Array.from(parts), next: at + TX_FRAME_WORDS + nf * TX_FRAG_WORDS };
}

test('tap transmit: a burst is described frame by frame, fragments in place, shared buffers listed once', () => {
  const stats = newQueueStats();
  const counters = newTapTxCounters();
  const tx = new TapTransmitter(8, stats, counters);
  const pool = new FramePool({ slotSize: 2048, slots: 16 });
  const payload = new Uint8Array(3000).map((_, i) => i & 0xff);
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    const p = Packet.alloc(pool)!;
    const hdr = frame(0);
    p.bufs[0]!.set(hdr, p.append(hdr.length));
    p.appendFragment(payload, i * 1000, 1000);
    p.csumStart = L4;
    p.csumOffset = 16;
    tx.push(p);
    sent.push(p.toBytes());
  }
  const seen: { header: number[]; bytes: Uint8Array }[] = [];
  let bufCount = 0;
  const done = tx.send((frames, bufs, nbufs) => {
    bufCount = nbufs;
    let at = 0;
    for (let i = 0; i < frames; i++) {
      const f = readFrame(tx.ctrl, at, bufs);
      seen.push(f);
      tx.ctrl[at + TX_RESULT] = 0;
      at = f.next;
    }
    return frames;
  });
  assert.equal(done, 3);
  assert.equal(bufCount, 2, 'the pool and the payload buffer');
  seen.forEach((f, i) => {
    assert.deepEqual(f.bytes, sent[i]);
    assert.deepEqual(f.header, [VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, L4 + 18, 0, L4, 16]);
  });
  assert.equal(stats.txFrames, 3);
  assert.equal(stats.txBytes, sent.reduce((s, b) => s + b.length, 0));
  assert.equal(pool.inUse, 0, 'sent packets were released');

});

test('tap transmit: EAGAIN keeps the rest, in order, for the next call; refused frames are counted and dropped', () => {
  const stats = newQueueStats();
  const counters = newTapTxCounters();
  const tx = new TapTransmitter(8, stats, counters);
  const frames = [0, 1, 2, 3, 4].map((i) => frame(10 + i));
  for (const f of frames) tx.push(Packet.wrap(Uint8Array.from(f)));
  const order: number[] = [];
  // First call: two go, the third refused (EINVAL), then EAGAIN.
  let done = tx.send((n, bufs) => {
    let at = 0;
    for (let i = 0; i < 3; i++) {
      order.push(readFrame(tx.ctrl, at, bufs).bytes.length);
      tx.ctrl[at + TX_RESULT] = i === 2 ? 22 : 0;
      at = readFrame(tx.ctrl, at, bufs).next;
    }
    assert.equal(n, 5);
    return 3;
  });
  assert.equal(done, 3);
  assert.equal(tx.stalled, true);
  assert.equal(tx.pending, 2);
  done = tx.send((n, bufs) => {
    let at = 0;
    for (let i = 0; i < n; i++) {
      order.push(readFrame(tx.ctrl, at, bufs).bytes.length);
      at = readFrame(tx.ctrl, at, bufs).next;
    }
    return n;
  });
  assert.equal(done, 2);
  assert.equal(tx.stalled, false);
  assert.deepEqual(order, frames.map((f) => f.length), 'every frame once, in order');
  assert.equal(stats.txFrames, 4);
  assert.equal(counters.txRefused, 1);
  assert.equal(counters.txErrno, 22);
  assert.equal(stats.txDrops, 1);
});

test('tap transmit: a GSO frame the kernel could not segment is dropped before the call; one of too many fragments is copied', () => {
  const stats = newQueueStats();
  const counters = newTapTxCounters();
  const tx = new TapTransmitter(4, stats, counters);
  const bad = Packet.wrap(frame(3000));
  bad.gsoSize = 1448;
  bad.gsoType = GSO_TCPV4;
  tx.push(bad);
  const bytes = frame(3000);
  const many = new Packet();
  for (let i = 0; i < bytes.length; i++) many.appendFragment(bytes, i, 1);
  tx.push(many);
  let got: Uint8Array | null = null;
  const done = tx.send((n, bufs) => {
    assert.equal(n, 1);
    assert.equal(tx.ctrl[TX_FRAGS], 1, 'copied into one fragment');
    got = readFrame(tx.ctrl, 0, bufs).bytes;
    return 1;
  });
  assert.equal(done, 1);
  assert.deepEqual(got, bytes);
  assert.equal(counters.txMalformed, 1);
  assert.equal(counters.txLinearized, 1);
  assert.equal(stats.txDrops, 1);
  assert.equal(stats.txFrames, 1);
});
