/**
 * The receiver's small parts on their own: the SACK blocks it reports (RFC 2018 §4,
 * RFC 2883 D-SACK) and receive-buffer autotuning (Linux's tcp_rcv_space_adjust).
 * The connection-level behaviour is tested in tcp-sack and tcp-link.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SackReport } from '../../src/stack/tcp/sack-report.js';
import { ReceiveBufferTuner } from '../../src/stack/tcp/rcv-autotune.js';

/** The blocks `write` puts on the wire, as [left, right] pairs (the D-SACK one first). */
function written(r: SackReport, blocks: number, dsack: boolean): number[][] {
  const b = new Uint8Array(40);
  const end = r.write(b, 0, blocks, dsack);
  assert.deepEqual([b[0], b[1], b[2], b[3]], [1, 1, 5, 2 + 8 * (blocks + (dsack ? 1 : 0))]);
  const v = new DataView(b.buffer);
  const out: number[][] = [];
  for (let o = 4; o < end; o += 8) out.push([v.getUint32(o), v.getUint32(o + 4)]);
  return out;
}

test('sack report: the block of the latest segment first, then the older ones; a covered block goes; at most four', () => {
  const r = new SackReport();
  assert.ok(r.empty);
  r.noteBlock(2000, 3000);
  r.noteBlock(5000, 6000);
  r.noteBlock(8000, 9000);
  assert.deepEqual(written(r, r.count, false), [[8000, 9000], [5000, 6000], [2000, 3000]]);
  // A segment that joins the first two ranges into one: that range first, the two it covers gone.
  r.noteBlock(2000, 6000);
  assert.deepEqual(written(r, r.count, false), [[2000, 6000], [8000, 9000]]);
  for (const l of [11000, 13000, 15000, 17000]) r.noteBlock(l, l + 1000);
  assert.equal(r.count, 4);
  assert.deepEqual(written(r, 4, false), [[17000, 18000], [15000, 16000], [13000, 14000], [11000, 12000]]);
});

test('sack report: RCV.NXT passing a block removes it, cutting one trims it; nothing held above RCV.NXT clears all', () => {
  const r = new SackReport();
  r.noteBlock(2000, 3000);
  r.noteBlock(5000, 6000);
  assert.equal(r.prune(3000, false), 1);
  assert.deepEqual(written(r, 1, false), [[5000, 6000]]);
  r.noteBlock(8000, 9000);
  assert.equal(r.prune(5500, false), 2);
  assert.deepEqual(written(r, 2, false), [[8000, 9000], [5500, 6000]]);
  assert.equal(r.prune(5500, true), 0);
  assert.ok(r.empty);
});

test('sack report: a D-SACK block goes first in the next ACK, once (RFC 2883 §4)', () => {
  const r = new SackReport();
  r.noteBlock(5000, 6000);
  r.noteDuplicate(1000, 2000);
  assert.ok(r.dsackPending);
  assert.deepEqual(written(r, 1, true), [[1000, 2000], [5000, 6000]]);
  assert.equal(r.dsackPending, false);
  r.prune(6000, true);
  assert.ok(r.empty);
});

test('autotuning: a reader that keeps up grows the buffer once per round trip, up to the ceiling; a slow one never does', () => {
  const MSS = 1448;
  const max = 6 << 20;
  const t = new ReceiveBufferTuner(MSS, 10 * MSS);
  let buf = 256 << 10;
  let read = 0;
  let now = 0;
  buf = t.adjust(buf, max, read, now, 10); // the first call only starts measuring
  assert.equal(buf, 256 << 10);
  // Within the round trip (10 ms SRTT), nothing changes however much is read.
  read += 100_000;
  assert.equal(t.adjust(buf, max, read, now + 5, 10), buf);
  // A round trip in which the application read 200 KB where it had read 14.5 KB (the initial window) before.
  now += 10;
  read += 100_000;
  const grown = t.adjust(buf, max, read, now, 10);
  assert.ok(grown > 2 * 200_000, `grown to ${grown}`);
  // Reading the same again is no sign the window held the sender back.
  buf = grown;
  now += 10;
  read += 200_000;
  assert.equal(t.adjust(buf, max, read, now, 10), buf);
  // Ever more per round trip: capped at the ceiling.
  for (let i = 1; i <= 20; i++) {
    now += 10;
    read += 200_000 * 2 ** i;
    buf = t.adjust(buf, max, read, now, 10);
  }
  assert.equal(buf, max);

  const slow = new ReceiveBufferTuner(MSS, 10 * MSS);
  let sb = 256 << 10;
  let sread = 0;
  for (let ms = 0; ms < 10_000; ms += 10) {
    sread += 1000; // 1 KB per round trip: below the initial window
    sb = slow.adjust(sb, max, sread, ms, 10);
  }
  assert.equal(sb, 256 << 10);
});

test("autotuning: the receiver's own RTT sets the pace when it has one; insane samples are ignored", () => {
  const MSS = 1448;
  const t = new ReceiveBufferTuner(MSS, 10 * MSS);
  t.adjust(65536, 1 << 20, 0, 0, 200);
  t.sampleRtt(-5, 1000);
  t.sampleRtt(5000, 1000);
  t.sampleRtt(20, 1000);
  // 25 ms later: past the receiver's 20 ms RTT though short of the sender-side SRTT of 200 ms.
  assert.ok(t.adjust(65536, 1 << 20, 500_000, 25, 200) > 65536);
});
