/** Hostile TCP input: random and mutated segments never throw, never leak, never corrupt a good connection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, B_ADDR, A_ADDR, patternBytes, sha256, pump, drain } from './tcp-harness.js';
import { Packet } from '../../src/packet/packet.js';
import { Random, seedFromEnv } from '../../src/util/random.js';
import { writeU16, writeU32 } from '../../src/wire/addr.js';
import { addSums, finish, pseudoHeaderSum, sum16 } from '../../src/wire/checksum.js';

const SEED = seedFromEnv();
const S = `(SHOAL_SEED=${SEED})`;

test('tcp hostile: 200,000 random and mutated segments during a transfer; the transfer survives, nothing leaks', () => {
  // A slow link (1 MB/s): many passes, each with a volley of hostile segments.
  const h = new Pair({ seed: SEED, ab: { rate: 1000, delay: 1 }, ba: { rate: 1000, delay: 1 } });
  const rnd = new Random(SEED ^ 0xbad);
  const n = 2 << 20;
  const data = patternBytes(n, SEED);
  const l = h.b.tcp.listen(80);
  let sd = null as ReturnType<typeof drain> | null;
  l.onConnection((s) => {
    sd = drain(s);
    s.shutdown();
  });
  const c = h.a.tcp.connect({ dst: B_ADDR, dstPort: 80 });
  c.onConnect = () => pump(c, data);
  const cd = drain(c);
  // Captured real segments to mutate.
  const samples: Uint8Array[] = [];
  h.ab.tap = (b) => {
    if (samples.length < 64 && rnd.chance(0.1)) samples.push(b);
  };
  const hostile = (): void => {
    for (let k = 0; k < 200; k++) {
      let b: Uint8Array;
      const kind = samples.length === 0 ? 0 : rnd.int(4);
      let fix = rnd.chance(0.8);
      if (kind === 0) {
        // Random bytes, often aimed at the connection's ports.
        b = new Uint8Array(rnd.int(80));
        for (let i = 0; i < b.length; i++) b[i] = rnd.int(256);
        if (b.length >= 4 && rnd.chance(0.5)) {
          writeU16(b, 0, c.localPort);
          writeU16(b, 2, 80);
        }
      } else {
        b = samples[rnd.int(samples.length)]!.slice();
        if (kind === 1) {
          // Damaged on the way: one byte changed, which the Internet checksum always catches
          // (two changes in bytes of the same parity cancel out with probability ~1/256: the
          // checksum's known weakness, not something TCP can help).
          const at = rnd.int(Math.min(b.length, 40));
          b[at] = b[at]! ^ (1 + rnd.int(255));
          fix = false;
        } else if (kind === 2) {
          // A blind off-path attacker: any flags, guessed sequence and acknowledgment numbers (RFC 5961).
          writeU32(b, 4, rnd.nextU32());
          writeU32(b, 8, rnd.nextU32());
          b[13] = rnd.int(256);
          fix = true;
        } else {
          // Aimed at other 4-tuples.
          writeU16(b, 0, rnd.int(65536));
          writeU16(b, 2, rnd.chance(0.5) ? 80 : rnd.int(65536));
          if (b[0] === (c.localPort >>> 8) && b[1] === (c.localPort & 0xff)) b[0] ^= 1;
          b[13] = rnd.int(256);
          fix = true;
        }
      }
      // A correct checksum (so the segment reaches the state machine) unless it was damaged.
      if (b.length >= 18 && fix) {
        b[16] = b[17] = 0;
        writeU16(b, 16, finish(addSums(pseudoHeaderSum(A_ADDR, B_ADDR, 6, b.length), sum16(b, 0, b.length))));
      }
      const p = Packet.alloc(h.b.pool, 64)!;
      if (b.length) p.bufs[0]!.set(b, p.append(b.length));
      h.b.tcp.receive(p, A_ADDR, B_ADDR, h.now);
    }
  };
  let rounds = 0;
  h.run(() => {
    if (rounds < 1000 && samples.length > 0) {
      rounds++;
      hostile();
    }
    return cd.ended() && sd !== null && sd.ended();
  }, 600_000);
  const cb = h.b.tcp.counters;
  console.log(`# hostile: ${rounds * 200} segments; b drops ${JSON.stringify(cb.drops)}, challenge ACKs ${cb.challengeAcks}, resets sent ${cb.resetsSent}`);
  assert.ok(rounds >= 500, `hostile rounds ${rounds}`);
  assert.ok(sd !== null && sd.ended(), `transfer finished ${S}`);
  assert.equal(sd!.digest(), sha256(data), `stream intact ${S}`);
  h.advance(200_000);
  l.close();
  h.ab.clear();
  h.ba.clear();
  assert.deepEqual(h.leaks(), [], S);
});
