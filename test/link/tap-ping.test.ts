/**
 * ICMP through a real TAP with the Linux kernel on the other end, in a namespace of
 * the test's own: the kernel's ping against Shoal and Shoal's echo requests against the
 * kernel, small and 8,000 bytes (fragmented both ways at MTU 1500).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4 } from '../../src/wire/addr.js';
import { KERNEL_IP, requireTap, SHOAL_IP, withTapWorld, type TapWorld } from './tap-netns.js';

test('tap: the kernel pings Shoal, 56 and 8,000 bytes (fragmented both ways)', { timeout: 60_000 }, async (t) => {
  if (!requireTap(t, 'ping')) return;
  await withTapWorld({}, async (w) => {
    const small = await w.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', SHOAL_IP]);
    assert.match(small.stdout, /3 packets transmitted, 3 received/);
    const big = await w.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', '-s', '8000', SHOAL_IP]);
    assert.match(big.stdout, /3 packets transmitted, 3 received/);
    assert.match(big.stdout, /8008 bytes from 10\.77\.0\.2/);
    const ip = w.host!.stack.counters().ipv4;
    assert.ok(ip.reasmOks >= 3, `Shoal reassembled the kernel's fragmented requests (${ip.reasmOks})`);
    assert.ok(ip.fragOks >= 3, `Shoal fragmented its replies (${ip.fragOks})`);
  });
});

test('tap: Shoal pings the kernel, 56 and 8,000 bytes (fragmented both ways)', { timeout: 60_000 }, async (t) => {
  if (!requireTap(t)) return;
  await withTapWorld({}, async (w) => {
    for (const size of [56, 8000]) {
      for (let seq = 1; seq <= 3; seq++) {
        const payload = new Uint8Array(size).map((_, i) => (i * 7 + seq) & 0xff);
        const reply = await echo(w, 0x5107, seq, payload);
        assert.deepEqual(reply, payload, `the kernel echoed ${size} bytes (seq ${seq})`);
      }
    }
    const ip = w.host!.stack.counters().ipv4;
    assert.ok(ip.fragOks >= 3, `Shoal fragmented its 8,000-byte requests (${ip.fragOks})`);
    assert.ok(ip.reasmOks >= 3, `Shoal reassembled the kernel's fragmented replies (${ip.reasmOks})`);
  });
});

/** One echo request from Shoal; resolves with the reply's data (fails after 5 s). */
function echo(w: TapWorld, id: number, seq: number, payload: Uint8Array): Promise<Uint8Array> {
  const icmp = w.host!.stack.icmp;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo reply from ${KERNEL_IP} for seq ${seq} (${payload.length} bytes) within 5 s`)), 5000);
    icmp.onEchoReply = (_src, rid, rseq, data) => {
      if (rid !== id || rseq !== seq) return;
      clearTimeout(timer);
      icmp.onEchoReply = null;
      resolve(Uint8Array.from(data));
    };
    // The first request may wait for ARP; the stack sends it once the kernel answers.
    assert.ok(icmp.sendEcho(parseIpv4(KERNEL_IP), id, seq, payload), 'the echo request was queued');
    w.loop!.wake();
  });
}
