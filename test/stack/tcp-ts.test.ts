/** RFC 7323 timestamps: negotiation, TSval/TSecr on every segment, RTTM, PAWS. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raw, B_ADDR, type RawSegment } from './tcp-harness.js';
import { TCP_ACK, TCP_SYN } from '../../src/wire/tcp.js';
import { seedFromEnv } from '../../src/util/random.js';
import { seedNote } from '../support/require.js';
import type { TcpConnection, TcpOptions } from '../../src/stack/tcp/index.js';

const SEED = seedFromEnv();
const S = seedNote(SEED);
const PEER_ISN = 3_000_000;

function open(peerTs: boolean, options?: TcpOptions): { r: Raw; c: TcpConnection; syn: RawSegment; una: number } {
  const r = new Raw(SEED, options);
  const c = r.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  const [syn] = r.collect();
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN, ack: syn!.seq + 1, flags: TCP_SYN | TCP_ACK, window: 65535, urgent: 0, options: peerTs ? { mss: 1460, tsVal: 1000, tsEcr: syn!.options.tsVal ?? 0 } : { mss: 1460 } });
  r.collect();
  return { r, c, syn: syn!, una: syn!.seq + 1 };
}

test('tcp timestamps: negotiated in SYN/SYN-ACK; then on every segment, echoing TS.Recent; MSS 12 less', () => {
  const { r, c, syn, una } = open(true);
  assert.ok(syn.options.tsVal !== undefined && syn.options.tsEcr === 0, 'our SYN offers timestamps');
  assert.equal(c.snd.tsOk, true);
  assert.equal(c.sndMss, 1460 - 12);
  r.advance(500);
  c.write(new Uint8Array(5000));
  const out = r.collect();
  assert.ok(out.length >= 3);
  for (const s of out) {
    assert.equal(s.options.tsEcr, 1000, 'echoes the SYN-ACK TSval');
    assert.equal(s.options.tsVal, c.snd.tsNow(r.now), 'our millisecond clock + offset');
    assert.ok(s.payload.length <= 1448);
  }
  // The peer's next TSval becomes TS.Recent (it covers Last.ACK.sent).
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 1, ack: una + out.reduce((n, x) => n + x.payload.length, 0), flags: TCP_ACK, window: 65535, urgent: 0, options: { tsVal: 1300, tsEcr: out[0]!.options.tsVal! } }, new Uint8Array(10));
  const acks = [...r.take(), ...r.advance(100)];
  assert.ok(acks.length > 0);
  assert.equal(acks.at(-1)!.options.tsEcr, 1300, S);
  // Off on either side: no option.
  const off = open(true, { timestamps: false });
  assert.equal(off.syn.options.tsVal, undefined);
  assert.equal(off.c.snd.tsOk, false);
  const peerOff = open(false);
  assert.equal(peerOff.c.snd.tsOk, false);
  assert.equal(peerOff.c.sndMss, 1460);
});

test('tcp timestamps: RTT from the echo, a retransmission included (no Karn needed)', () => {
  const { r, c, una } = open(true);
  c.write(new Uint8Array(1000));
  const [d] = r.collect();
  const rtoBefore = c.rto;
  // Lost: the retransmission timer fires, the segment goes again with a new TSval.
  const again = r.advance(rtoBefore + 1).filter((s) => s.payload.length > 0);
  assert.equal(again.length, 1, S);
  assert.notEqual(again[0]!.options.tsVal, d!.options.tsVal);
  r.advance(37);
  r.send({ srcPort: 80, dstPort: c.localPort, seq: PEER_ISN + 1, ack: una + 1000, flags: TCP_ACK, window: 65535, urgent: 0, options: { tsVal: 2000, tsEcr: again[0]!.options.tsVal! } });
  assert.ok(Math.abs(c.srtt - 37) < 1e-9 || c.srtt < 37, `srtt ${c.srtt} from a 37 ms echo ${S}`);
  assert.ok(c.srtt > 0, 'a sample was taken from the retransmission');
});

test('tcp timestamps: PAWS drops (and ACKs) a segment with an old TSval; 24 days idle invalidates TS.Recent', () => {
  const { r, c, una } = open(true);
  let got = 0;
  c.onReadable = () => {
    let b;
    while ((b = c.read()) !== null) got += b.length;
  };
  const seg = (seq: number, tsVal: number): RawSegment[] => {
    r.send({ srcPort: 80, dstPort: c.localPort, seq, ack: una, flags: TCP_ACK, window: 65535, urgent: 0, options: { tsVal, tsEcr: 0 } }, new Uint8Array(100));
    r.tcp.flush();
    return r.take();
  };
  seg(PEER_ISN + 1, 5000);
  assert.equal(got, 100);
  const out = seg(PEER_ISN + 101, 4000); // older than TS.Recent (5000)
  assert.equal(r.tcp.counters.pawsDrops, 1, S);
  assert.equal(got, 100, 'not delivered');
  assert.ok(out.some((s) => s.flags & TCP_ACK && s.ack === PEER_ISN + 101), 'answered with an ACK');
  seg(PEER_ISN + 101, 5001);
  assert.equal(got, 200);
  // 25 days of silence: an old TSval is taken again (RFC 7323 §5.5).
  r.advance(25 * 86_400_000);
  seg(PEER_ISN + 201, 10);
  assert.equal(got, 300, S);
  assert.equal(r.tcp.counters.pawsDrops, 1);
});
