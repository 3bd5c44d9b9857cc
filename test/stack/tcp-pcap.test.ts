/** A lossy TCP transfer, captured: tshark reads it whole and its TCP analysis finds the retransmissions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { twoStacks, IP_B } from './net.js';
import { drain, patternBytes, pump, sha256 } from './tcp-harness.js';
import { PcapWriter } from '../../src/link/pcap.js';
import { hasCommand, requireOrSkip, seedNote } from '../support/require.js';
import { seedFromEnv } from '../../src/util/random.js';

test('pcap of a transfer under 2% loss: no malformed packet, and tshark sees the retransmissions', (t) => {
  if (!requireOrSkip(t, hasCommand('tshark'), 'tshark is not installed (apt-get install tshark)')) return;
  const seed = seedFromEnv();
  const note = seedNote(seed);
  const dir = mkdtempSync(join(tmpdir(), 'shoal-tcp-pcap-'));
  try {
    const path = join(dir, 'lossy.pcap');
    const writer = PcapWriter.toFile(path, Date.UTC(2026, 0, 1));
    const n = twoStacks({ seed, aToB: { loss: 0.02 }, bToA: { loss: 0.02 }, captureA: writer });
    const data = patternBytes(2 << 20, seed);
    const l = n.b.tcp.listen(5001);
    let got: ReturnType<typeof drain> | null = null;
    l.onConnection((s) => (got = drain(s)));
    const c = n.a.tcp.connect({ dst: IP_B, dstPort: 5001 });
    c.onConnect = () => pump(c, data, 'close');
    assert.ok(n.run(() => got !== null && got.ended(), 120_000), `transfer finished ${note}`);
    assert.equal(got!.digest(), sha256(data), note);
    writer.close();
    const malformed = execFileSync('tshark', ['-n', '-r', path, '-Y', '_ws.malformed'], { encoding: 'utf8' });
    assert.equal(malformed.trim(), '', `tshark flagged:\n${malformed}`);
    const retrans = execFileSync('tshark', ['-n', '-r', path, '-Y', 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    const count = retrans.trim().split('\n').filter(Boolean).length;
    assert.ok(count > 0, `tshark finds retransmissions ${note}`);
    const ours = n.a.tcp.counters.retransmittedSegments;
    assert.ok(count <= ours + 5, `tshark's ${count} against our ${ours} ${note}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
