import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemorySink, PcapWriter, PCAP_MAGIC_NS, PCAP_SNAPLEN } from '../../src/link/pcap.js';
import { Packet } from '../../src/packet/packet.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { TCP_ACK, TCP_SYN } from '../../src/wire/tcp.js';
import { arpRequest, tcpFrame, udpFrame, type Endpoints } from '../support/frames.js';
import { hasCommand, requireOrSkip } from '../support/require.js';

const E: Endpoints = { srcMac: 0x02_00_00_00_00_01, dstMac: 0x02_00_00_00_00_02, src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2') };

function frames(): Uint8Array[] {
  const superPayload = new Uint8Array(65000).map((_, i) => i & 0xff);
  return [
    arpRequest(E.srcMac, E.src, E.dst),
    udpFrame(E, 5000, 7777, new TextEncoder().encode('hello')),
    tcpFrame(E, { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: TCP_SYN, window: 64240, urgent: 0, options: { mss: 1460, sackPermitted: true, tsVal: 1, tsEcr: 0, wscale: 7 } }),
    // A TSO super-frame as a stack hands it to an offloading NIC: 65,000 bytes of payload.
    tcpFrame(E, { srcPort: 40000, dstPort: 80, seq: 2, ack: 1, flags: TCP_ACK, window: 502, urgent: 0 }, superPayload),
  ];
}

test('pcap: the file header and records follow the libpcap format with nanosecond stamps', () => {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, 1_700_000_000_000);
  const f = frames();
  f.forEach((b, i) => w.write(Packet.wrap(b), i * 1.000001));
  w.close();
  const out = sink.bytes();
  const v = new DataView(out.buffer, out.byteOffset);
  assert.equal(v.getUint32(0, true), PCAP_MAGIC_NS);
  assert.equal(v.getUint32(16, true), PCAP_SNAPLEN);
  assert.equal(v.getUint32(20, true), 1, 'LINKTYPE_ETHERNET');
  let at = 24;
  for (const [i, b] of f.entries()) {
    assert.equal(v.getUint32(at, true), 1_700_000_000 + Math.floor((i * 1.000001) / 1000));
    assert.equal(v.getUint32(at + 4, true), Math.round(((i * 1.000001) % 1000) * 1e6));
    assert.equal(v.getUint32(at + 8, true), b.length, 'kept whole, even the 64 KB super-frame');
    assert.equal(v.getUint32(at + 12, true), b.length);
    assert.deepEqual(Uint8Array.from(out.subarray(at + 16, at + 16 + b.length)), b);
    at += 16 + b.length;
  }
  assert.equal(at, out.length);
  assert.equal(w.records, 4);
});

test('pcap: tshark reads the capture, GSO frame included, and finds nothing malformed', (t) => {
  if (!requireOrSkip(t, hasCommand('tshark'), 'tshark is not installed (apt-get install tshark)')) return;
  const dir = mkdtempSync(join(tmpdir(), 'shoal-pcap-'));
  try {
    const path = join(dir, 'frames.pcap');
    const w = PcapWriter.toFile(path, 1_700_000_000_000);
    // A small writer buffer would flush several times: write enough to cross it.
    for (let round = 0; round < 20; round++) frames().forEach((b, i) => w.write(Packet.wrap(b), round * 10 + i));
    w.close();
    assert.ok(readFileSync(path).length > 1 << 20);
    const fields = execFileSync('tshark', ['-n', '-r', path, '-T', 'fields', '-e', 'frame.protocols', '-e', 'frame.len', '-e', 'tcp.len'], { encoding: 'utf8' });
    const lines = fields.trim().split('\n');
    assert.equal(lines.length, 80);
    assert.match(lines[0]!, /^eth:ethertype:arp\t42/);
    assert.match(lines[1]!, /udp/);
    assert.match(lines[3]!, /^eth:ethertype:ip:tcp.*\t65054\t65000$/);
    const malformed = execFileSync('tshark', ['-n', '-r', path, '-Y', '_ws.malformed || _ws.expert.severity >= error'], { encoding: 'utf8' });
    assert.equal(malformed.trim(), '', `tshark flagged:\n${malformed}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
