/** The demo's parts that decide what the user sees: the capped capture, the progress line, the report and the verdict. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CappedPcapFile } from '../../src/cli/demo/capture.js';
import { grouped, si, table } from '../../src/cli/demo/format.js';
import { formatLine, Progress, type Sample } from '../../src/cli/demo/progress.js';
import { failure, formatReport } from '../../src/cli/demo/report.js';
import { WorkloadStats } from '../../src/cli/demo/stats.js';
import { PcapWriter } from '../../src/link/pcap.js';
import { Packet } from '../../src/packet/packet.js';
import { FramePool } from '../../src/packet/pool.js';

test('capped capture: whole flushes until the limit, then records counted, not written; the file stays valid pcap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-capture-'));
  try {
    const path = join(dir, 'capped.pcap');
    const limit = 3_000_000;
    const sink = new CappedPcapFile(path, limit);
    const writer = new PcapWriter(sink, 0);
    const pool = new FramePool({ slotSize: 2048, slots: 4 });
    const total = 6000;
    for (let i = 0; i < total; i++) {
      const p = Packet.alloc(pool)!;
      const at = p.append(1000 + (i % 500));
      p.bufs[0]!.fill(i & 0xff, at, at + p.length);
      writer.write(p, i);
      p.release();
    }
    writer.close();
    const file = readFileSync(path);
    assert.equal(file.length, sink.bytes);
    assert.ok(file.length <= limit, `${file.length} bytes written, limit ${limit}`);
    assert.ok(sink.skipped > 0, 'the later records were left out');
    assert.equal(sink.records + sink.skipped, total);
    assert.equal(writer.records, total);
    // Walk the file: a header, then records that end exactly at its end.
    assert.equal(file.readUInt32LE(0), 0xa1b23c4d);
    let at = 24;
    let n = 0;
    while (at < file.length) {
      const caplen = file.readUInt32LE(at + 8);
      assert.equal(caplen, 1000 + (n % 500), `record ${n}`);
      assert.equal(file[at + 16], n & 0xff, `record ${n} is the ${n}th frame`);
      at += 16 + caplen;
      n++;
    }
    assert.equal(at, file.length, 'no record cut short');
    assert.equal(n, sink.records);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('progress line: rates over the interval, Gbit/s through the switch, connections', () => {
  const a: Sample = { at: 1000, requests: [100, 10, 0], switchBytes: 0, open: 3, timeWait: 0, accepted: 5 };
  const b: Sample = { at: 1500, requests: [30_100, 1010, 400], switchBytes: 125_000_000, open: 40, timeWait: 1234, accepted: 405 };
  assert.equal(formatLine(['memcached', 'http', 'churn'], a, b, 0), '  1.5 s  memcached 60.0k/s  http 2.00k/s  churn 800/s  |  2.00 Gbit/s  |  conns 40 open, 1.23k TIME_WAIT, 800 new/s');
});

test('progress: a line a second without a terminal, one line rewritten with \\r on a terminal', async () => {
  let n = 0;
  const sample = (): Sample => ({ at: performance.now(), requests: [n++], switchBytes: 0, open: 0, timeWait: 0, accepted: 0 });
  for (const isTTY of [false, true]) {
    let text = '';
    const p = new Progress({ isTTY, write: (s: string) => (text += s) }, ['x'], sample, performance.now());
    p.start();
    await new Promise((resolve) => setTimeout(resolve, 1150));
    p.stop();
    if (isTTY) {
      assert.equal(text.split('\r').length - 1, 2, `two redraws in 1.15 s: ${JSON.stringify(text)}`);
      assert.ok(text.endsWith('\x1b[K\n'), 'the line is ended when progress stops');
    } else {
      assert.ok(!text.includes('\r'));
      assert.equal(text.split('\n').filter(Boolean).length, 1, `one line in 1.15 s: ${JSON.stringify(text)}`);
    }
  }
});

test('report: a row per workload from its histogram; the verdict fails on errors or no requests', () => {
  const ok = new WorkloadStats('memcached');
  ok.startedAt = 0;
  for (let i = 1; i <= 1000; i++) ok.done(0, i / 100, 100);
  ok.stoppedAt = 2000;
  ok.notes.push('1000 gets');
  const idle = new WorkloadStats('churn');
  idle.stoppedAt = 2000;
  const bad = new WorkloadStats('http');
  bad.startedAt = 0;
  bad.done(0, 5, 1e6);
  bad.stoppedAt = 2000;
  bad.error('http: GET /x: status 500');
  bad.error('http: GET /x: status 500');
  const text = formatReport({
    workloads: [ok, bad, idle],
    traffic: { txFrames: 1234, txBytes: 2.5e9, superWhole: 10, superCut: 0, superSegments: 0, lost: 0, deviceDrops: 2 },
    hosts: 4,
    accepted: 17,
    retransmits: 3,
    capture: null,
    now: 5000,
  });
  const lines = text.split('\n');
  assert.match(lines[0]!, /^ {2}workload +requests +req\/s +payload Gbit\/s +p50 ms +p99 ms +p99\.9 ms +errors$/);
  // 1000 requests over 2 s; 100 kB over 2 s is 0.0004 Gbit/s; latencies 0.01 .. 10 ms, reported
  // as the middle of their bucket: 5 ms is in [4.992, 5.024), 9.9 ms in [9.856, 9.920).
  assert.deepEqual(lines[1]!.trim().split(/\s+/), ['memcached', '1,000', '500', '0.000', '5.01', '9.89', '10.0', '0']);
  assert.deepEqual(lines[2]!.trim().split(/\s+/), ['http', '1', '1', '0.004', '5.00', '5.00', '5.00', '2']);
  assert.deepEqual(lines[3]!.trim().split(/\s+/), ['churn', '0', '0', '0.000', '-', '-', '-', '0']);
  assert.ok(lines.includes('  memcached: 1000 gets'));
  assert.equal(lines.filter((l) => l === '  http error: http: GET /x: status 500').length, 1, 'a message is shown once');
  assert.ok(lines.includes('  switch: 1,234 frames sent by 4 hosts, 2.50 GB (10 TSO super-frames taken whole by LRO); 2 dropped (0 by the faults, 2 at rings, pools or sends)'));
  assert.ok(lines.includes('  tcp: 17 connections accepted by the server, 3 segments retransmitted'));
  assert.equal(failure([ok, bad, idle]), 'http had 2 errors, churn completed no request');
  assert.equal(failure([ok]), null);
});

test('formats: SI rates, grouped counts, columns', () => {
  assert.deepEqual([0, 812, 1934, 62_100, 1_200_000, 3.5e9].map(si), ['0', '812', '1.93k', '62.1k', '1.20M', '3.50G']);
  assert.equal(grouped(1234567.4), '1,234,567');
  assert.equal(table([['a', 'bb'], ['ccc', 'd']]), '  a    bb\n  ccc   d');
});
