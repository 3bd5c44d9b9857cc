/**
 * The TAP device's own behaviour against the kernel, each test in a namespace of its own:
 * IFF_MULTI_QUEUE with one fd per queue, and a TAP deleted under Shoal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireTap, SHOAL_IP, withTapWorld } from './tap-netns.js';

test('tap: two queues (IFF_MULTI_QUEUE, one fd each): the kernel spreads flows over both, and every datagram is answered', { timeout: 60_000 }, async (t) => {
  if (!requireTap(t)) return;
  await withTapWorld({ queues: 2 }, async (w) => {
    const tap = w.tap!;
    // One stack for both queues (until shards give each queue its own).
    w.host!.stack.iface.attach(tap.queues[1]!);
    const { stdout: link } = await w.exec('ip', ['-d', 'link', 'show', w.tapName]);
    assert.match(link, /multi_queue/);
    const echo = w.host!.dgram.createSocket('udp4');
    echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => echo.bind(7, SHOAL_IP, resolve));
    // Sixteen sockets, sixteen flows that the kernel hashes over the queues
    // (tun_automq_select_queue): all on one queue would have odds of 2 in 65,536.
    const { stdout } = await w.exec('node', ['-e', UDP_FLOWS, SHOAL_IP, '16']);
    assert.equal(stdout.trim(), 'answered 16');
    const [q0, q1] = tap.queues;
    assert.ok(q0!.stats.rxFrames > 0 && q1!.stats.rxFrames > 0, `both queues received (${q0!.stats.rxFrames}, ${q1!.stats.rxFrames})`);
    echo.close();
  });
});

/** Kernel side: one datagram from each of N sockets to HOST:7, each answer awaited (2 s at most). */
const UDP_FLOWS = `
const dgram = require('node:dgram');
const [host, n] = process.argv.slice(1);
let answered = 0;
const one = () => new Promise((resolve, reject) => {
  const s = dgram.createSocket('udp4');
  const timer = setTimeout(() => reject(new Error('no answer')), 2000);
  s.on('message', () => { clearTimeout(timer); answered++; s.close(); resolve(); });
  s.send('flow', 7, host);
});
(async () => { for (let i = 0; i < Number(n); i++) await one(); console.log('answered ' + answered); })()
  .catch((e) => { console.error(e.message); process.exit(1); });
`;

test('tap: a TAP deleted under Shoal stops its queue (EBADFD counted) without spinning', { timeout: 60_000 }, async (t) => {
  if (!requireTap(t, 'ping')) return;
  await withTapWorld({}, async (w) => {
    await w.exec('ping', ['-c', '1', '-W', '2', SHOAL_IP]);
    await w.exec('ip', ['link', 'del', w.tapName]);
    const q = w.tap!.queues[0]!;
    for (let i = 0; i < 50 && q.counters.rxErrno === 0; i++) await sleep(20);
    assert.equal(q.counters.rxErrno, 77, 'EBADFD: the fd lost its device');
    const wakeups = q.counters.wakeups;
    await sleep(300);
    assert.ok(q.counters.wakeups - wakeups <= 1, `no wakeups once stopped (${q.counters.wakeups - wakeups} more)`);
  });
});
