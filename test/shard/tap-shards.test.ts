/**
 * Shards on a multi-queue TAP against the Linux kernel (root, /dev/net/tun): the TAP's
 * queues are opened here and each worker drives one. tun sends a flow to the queue it
 * last saw the flow sent on, so a connection's frames come to the shard that sends them:
 * only its handshake (frames the kernel sends before it has seen Shoal's first) may
 * land on another shard and be forwarded. Everything lives in a namespace the test creates and
 * deletes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync } from 'node:fs';
import { promisify } from 'node:util';
import { launch } from '../../src/shard/engine.js';
import { TapDevice, type TapQueues } from '../../src/link/tap/device.js';
import { requireTap } from '../link/tap-netns.js';
import type { TapEchoData } from './apps/tap-echo.js';

const run = promisify(execFile);
const KERNEL = '10.77.0.1';
const SHOAL = '10.77.0.2';

/** The kernel side: an echo server on port 7, and a client making `n` checked connections of `bytes` (one JSON line). */
const KERNEL_SCRIPT = `
const net = require('node:net'); const crypto = require('node:crypto');
const [mode, host, n, bytes] = process.argv.slice(1);
if (mode === 'server') { net.createServer((s) => { s.pipe(s); s.on('error', () => {}); }).listen(7, host, () => console.log('listening')); }
else {
  let ok = 0, done = 0;
  for (let i = 0; i < +n; i++) {
    const out = crypto.randomBytes(+bytes); const want = crypto.createHash('sha256').update(out).digest('hex');
    const got = crypto.createHash('sha256'); let len = 0;
    const c = net.connect(7, host, () => c.end(out));
    c.on('data', (d) => { len += d.length; got.update(d); });
    c.on('error', () => {});
    c.on('close', () => { if (len === out.length && got.digest('hex') === want) ok++; if (++done === +n) console.log(JSON.stringify({ ok })); });
  }
}`;

test('tap shards: 2 workers each drive one queue of a multi-queue TAP; connections both ways intact; only handshake frames are forwarded', async (t) => {
  if (!requireTap(t)) return;
  const shards = 2;
  const ns = `shoal-tsh-${randomBytes(4).toString('hex')}`;
  const name = `shtq${randomBytes(4).toString('hex')}`;
  let nsMade = false;
  let queues: TapQueues | null = null;
  let engine: Awaited<ReturnType<typeof launch>> | null = null;
  const children: ReturnType<typeof spawn>[] = [];
  try {
    await run('ip', ['netns', 'add', ns]);
    nsMade = true;
    await run('ip', ['netns', 'exec', ns, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6']);
    queues = TapDevice.openQueues({ name, queues: shards });
    await run('ip', ['link', 'set', name, 'netns', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', ns, 'addr', 'add', `${KERNEL}/24`, 'dev', name]);
    await run('ip', ['-n', ns, 'link', 'set', name, 'up']);
    const server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', KERNEL_SCRIPT, 'server', KERNEL], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(server);
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`the kernel's echo server ended (${code})`)));
    });

    const results = new SharedArrayBuffer(4 * (2 + 2 * shards));
    const connections = 12;
    const data: TapEchoData = { results, connections, bytes: 256 * 1024, kernel: KERNEL };
    const handed = queues;
    queues = null; // the workers own the fds now
    engine = await launch(new URL('./apps/tap-echo.js', import.meta.url), {
      shards,
      data,
      network: { hosts: [{ name: 'shoal', address: `${SHOAL}/24`, tap: { queues: handed } }] },
    });
    const r = new Int32Array(results);
    const client = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', KERNEL_SCRIPT, 'client', SHOAL, '16', String(256 * 1024)], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(client);
    let out = '';
    client.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve) => client.once('exit', () => resolve()));
    const until = Date.now() + 30_000;
    while (Atomics.load(r, 1) < shards && Date.now() < until) await new Promise((res) => setTimeout(res, 20));

    assert.deepEqual(JSON.parse(out.trim()), { ok: 16 }, 'the kernel’s 16 connections to Shoal echoed intact');
    const accepted = [0, 1].map((s) => Atomics.load(r, 2 + 2 * s));
    assert.equal(accepted[0]! + accepted[1]!, 16, `accepted once each: ${accepted.join(', ')}`);
    for (let s = 0; s < shards; s++) assert.equal(Atomics.load(r, 3 + 2 * s), connections, `shard ${s}: its connections to the kernel echoed intact`);

    const counters = await engine.counters();
    const local = counters.reduce((n, c) => n + c.hosts[0]!.steering.local, 0);
    const forwarded = counters.reduce((n, c) => n + c.hosts[0]!.steering.forwarded, 0);
    const broadcast = counters.reduce((n, c) => n + c.hosts[0]!.steering.broadcast, 0);
    // tun learns a flow's queue when Shoal writes the flow's first frame, but the kernel
    // may answer that frame inside the write, before tun has learned: so at most the
    // kernel's SYN and handshake ACK of each of its 16 connections, and the SYN-ACK of
    // each of Shoal's 24, land on a shard that does not own them. Nothing after that.
    const most = 2 * 16 + shards * connections;
    assert.ok(forwarded <= most, `forwarded ${forwarded} frames, at most ${most} (local ${local}, broadcast ${broadcast})`);
    assert.ok(local > 20 * forwarded, `a flow's frames come to its shard: local ${local}, forwarded ${forwarded}`);
    for (const c of counters) assert.ok(c.hosts[0]!.queue.rxFrames > 0 && c.hosts[0]!.queue.txFrames > 0, `shard ${c.shard} drove its queue`);
  } finally {
    if (engine !== null) await engine.stop();
    for (const c of children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      process.kill(c.pid, 'SIGKILL');
      await new Promise((resolve) => c.once('exit', resolve));
    }
    if (queues !== null) for (const fd of queues.fds) closeSync(fd);
    if (nsMade) await run('ip', ['netns', 'del', ns]);
  }
});

test('tap shards: a shard that throws while it drives a TAP queue stops every shard, and the TAP goes (no fd is left holding it)', async (t) => {
  if (!requireTap(t)) return;
  const name = `shtq${randomBytes(4).toString('hex')}`;
  const ns = `shoal-tsh-${randomBytes(4).toString('hex')}`;
  await run('ip', ['netns', 'add', ns]);
  let error: unknown = null;
  try {
    // In a namespace of its own, down and without an address: nothing it is sent goes anywhere.
    const queues = TapDevice.openQueues({ name, queues: 2 });
    await run('ip', ['link', 'set', name, 'netns', ns]).catch((e: unknown) => {
      for (const fd of queues.fds) closeSync(fd);
      throw e;
    });
    const engine = await launch(new URL('./apps/tap-throw.js', import.meta.url), {
      shards: 2,
      network: { hosts: [{ name: 'shoal', address: '10.77.0.2/24', tap: { queues } }] },
    });
    await engine.done;
  } catch (e) {
    error = e;
  }
  try {
    assert.match(String(error), /shard 1 failed on purpose/);
    const show = await run('ip', ['-n', ns, 'link', 'show', name]).then(
      () => 'still there',
      () => 'gone',
    );
    assert.equal(show, 'gone', `the TAP ${name} went with the last fd`);
  } finally {
    await run('ip', ['netns', 'del', ns]);
  }
});
