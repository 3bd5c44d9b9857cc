/**
 * Differential test: the same command scripts against the real memcached (Debian's
 * memcached 1.6, run here on 127.0.0.1 at a random high port and stopped by its PID) and
 * against ours over node:net; the replies must be equal byte for byte, once cas uniques are
 * numbered by first appearance (the two servers count them differently: memcached spends
 * one on every flush_all). Skipped with the reason when the memcached binary is missing
 * (under SHOAL_REQUIRE_ALL=1 that is a failure instead).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { hasCommand, requireOrSkip } from '../support/require.js';
import { serveMemcached } from '../../src/apps/memcached/server.js';
import { LineClient, closeServer, listenLocal } from './net-helpers.js';
import { launch } from '../../src/shard/engine.js';

interface Case {
  name: string;
  /** Sent one after another, each once the reply to the one before has come. `{cas}` is the last cas unique seen. */
  steps: string[];
  /** The script ends the connection (quit, HTTP, a line too long). */
  closes?: boolean;
}

const k250 = 'k'.repeat(250);
const k251 = 'k'.repeat(251);

const CASES: Case[] = [
  { name: 'set/get/gets', steps: ['set a 5 0 3\r\nabc\r\n', 'set b 0 0 0\r\n\r\n', 'get a nope b\r\n', 'gets a b\r\n', 'get a a\r\n', 'set bin 0 0 6\r\n\r\n\0\xff \r\n\r\n', 'get bin\r\n'] },
  { name: 'add/replace/append/prepend', steps: ['add k 1 0 1\r\nx\r\n', 'add k 2 0 1\r\ny\r\n', 'replace nope 0 0 1\r\nz\r\n', 'replace k 3 0 2\r\nzz\r\n', 'append k 9 9 2\r\n-e\r\n', 'prepend k 8 8 2\r\ns-\r\n', 'append nope 0 0 1\r\nx\r\n', 'gets k\r\n'] },
  { name: 'cas', steps: ['set c 0 0 1\r\na\r\n', 'gets c\r\n', 'cas c 4 0 1 {cas}\r\nb\r\n', 'cas c 4 0 1 {cas}\r\nc\r\n', 'cas nope 0 0 1 1\r\nx\r\n', 'gets c\r\n', 'cas c 0 0 1 x\r\nx\r\n', 'cas c 0 0 1 -1\r\nx\r\n', 'cas c 0 0 1\r\nx\r\n'] },
  { name: 'incr/decr', steps: ['set n 3 0 3\r\n100\r\n', 'decr n 1\r\n', 'get n\r\n', 'incr n 1\r\n', 'incr n 1000\r\n', 'get n\r\n', 'decr n 99999\r\n', 'get n\r\n', 'set m 0 0 20\r\n18446744073709551615\r\n', 'incr m 2\r\n', 'gets m\r\n', 'incr m -1\r\n', 'incr m abc\r\n', 'incr m 18446744073709551616\r\n', 'incr nope 1\r\n', 'set s 0 0 2\r\n 5\r\n', 'incr s 1\r\n', 'set s 0 0 4\r\n5 ab\r\n', 'incr s 1\r\n', 'set s 0 0 2\r\n-5\r\n', 'incr s 1\r\n', 'set s 0 0 0\r\n\r\n', 'decr s 1\r\n', 'incr\r\n', 'incr s\r\n', 'incr s 1 x\r\n'] },
  { name: 'touch/gat/gats and exptimes', steps: ['set t 0 0 1\r\nx\r\n', 'touch t 100\r\n', 'touch nope 1\r\n', 'touch t x\r\n', 'touch t\r\n', 'gat 100 t nope t\r\n', 'gats 100 t\r\n', 'gat 10\r\n', 'gat x t\r\n', 'touch t -1\r\n', 'get t\r\n', 'set e 0 2592000 1\r\nx\r\n', 'set f 0 2592001 1\r\nx\r\n', 'set g 0 -1 1\r\nx\r\n', 'set w 0 2147483648 1\r\nx\r\n', 'get e f g w\r\n'] },
  { name: 'delete', steps: ['set d 0 0 1\r\nx\r\n', 'delete d 0\r\n', 'delete d\r\n', 'delete d 1\r\n', 'delete d x y\r\n', 'delete\r\n', 'delete a b c d\r\n'] },
  { name: 'noreply', steps: ['set a 0 0 1 noreply\r\n1\r\nadd a 0 0 1 noreply\r\nx\r\nadd nr 0 0 1 noreply\r\n2\r\nreplace nr 0 0 1 noreply\r\n3\r\nappend nr 0 0 1 noreply\r\n4\r\nprepend nr 0 0 1 noreply\r\n5\r\ncas nr 0 0 1 1 noreply\r\nx\r\nincr a 1 noreply\r\ndecr a 1 noreply\r\nincr nope 1 noreply\r\nincr nr x noreply\r\ntouch a 0 noreply\r\ndelete nope noreply\r\ndelete a 0 noreply\r\nverbosity 1 noreply\r\nverbosity noreply\r\n', 'get a nr\r\n', 'set a 0 0 3 noreply\r\nabcde\r\n'] },
  { name: 'command errors', steps: ['bogus\r\n', '\r\n', '\n', 'x\r\n', 'GET\r\n', 'get\r\n', 'gets\r\n', 'gat\r\n', 'set a 0 0\r\nx\r\n', 'set a -1 0 1\r\nx\r\n', 'set a 0 0 -1\r\nab\r\n', 'set a 0 0 1x\r\nx\r\n', 'set a 4294967296 0 1\r\nx\r\n', 'get a\r\n', 'set a +5 +0 +1\r\nx\r\n', 'get a\r\n', 'set a 0 0 1 extra\r\nx\r\n', 'set a 0 0 1 noreply extra\r\nx\r\n', 'touch a 1 2 3\r\n', 'verbosity\r\n', 'verbosity 1\r\n', 'verbosity x\r\n', 'verbosity 5 x\r\n', 'verbosity 1 2 3\r\n', 'stats bogus\r\n', 'flushall\r\n'] },
  { name: 'keys', steps: [`set ${k250} 0 0 1\r\nx\r\n`, `get ${k250}\r\n`, `set ${k251} 0 0 1\r\nx\r\n`, `get a ${k251} b\r\n`, `set a 0 0 1\r\nx\r\n`, `get a ${k251}\r\n`, `delete ${k251}\r\n`, `incr ${k251} 1\r\n`, `touch ${k251} 1\r\n`, `gat 0 ${k251}\r\n`, 'get a\0b c\r\n', '  get   a  \r\n', 'set a\tb 0 0 1\r\nx\r\n', 'get a\tb\r\n', 'set a\x7fb 0 0 1\r\ny\r\n', 'gets a\x7fb a\x01\r\n', `set ${'\x10'.repeat(8)}k 0 0 1\r\nz\r\n`, `get ${'\x10'.repeat(8)}k\r\n`] },
  { name: 'data blocks', steps: ['set a 0 0 1\r\n1\r\n', 'set a 0 0 3\r\nabcde\r\n', 'get a\r\n', 'set a 0 0 1\nx\nget a\n', 'set a 0 0 1\r\nxy\r\n'] },
  { name: 'too large', steps: [`set k 0 0 1048516\r\n${'v'.repeat(1048516)}\r\n`, `set k 0 0 1048517\r\n${'v'.repeat(1048517)}\r\n`, 'get k\r\n', `set k 1 0 1048512\r\n${'v'.repeat(1048512)}\r\n`, `set k 1 0 1048513\r\n${'v'.repeat(1048513)}\r\n`, 'set q 0 0 1\r\nx\r\n', `add q 0 0 2000000\r\n${'v'.repeat(2000000)}\r\n`, 'get q\r\n', `set q 0 0 2000000 noreply\r\n${'v'.repeat(2000000)}XX`, 'get q\r\n', 'set ap 0 0 10\r\n0123456789\r\n', `append ap 0 0 1048507\r\n${'v'.repeat(1048507)}\r\n`, `append ap 0 0 1048506\r\n${'v'.repeat(1048506)}\r\n`] },
  { name: 'flush_all', steps: ['set a 0 0 1\r\nx\r\n', 'flush_all\r\n', 'get a\r\n', 'set a 0 0 1\r\ny\r\n', 'get a\r\n', 'flush_all x\r\n', 'flush_all 0\r\n', 'flush_all noreply\r\n', 'flush_all 1 2 3\r\n', 'set a 0 0 1\r\nz\r\n', 'get a\r\n'] },
  { name: 'flush_all over keys of every shard', steps: [Array.from({ length: 12 }, (_, i) => `set f${i} 0 0 2\r\nf${i % 10}\r\n`).join(''), `get ${Array.from({ length: 12 }, (_, i) => `f${i}`).join(' ')}\r\n`, 'flush_all\r\n', `get ${Array.from({ length: 12 }, (_, i) => `f${i}`).join(' ')}\r\n`, 'flush_all noreply\r\nset f3 0 0 1\r\nx\r\n', 'get f3 f4\r\n'] },
  { name: 'multiget across memcached token batches', steps: ['set m5 0 0 2\r\nm5\r\nset m30 0 0 3\r\nm30\r\n', `get ${Array.from({ length: 40 }, (_, i) => `m${i}`).join(' ')}\r\n`, `get ${Array.from({ length: 400 }, (_, i) => `m${i % 40}`).join(' ')}\r\n`] },
  { name: 'pipelined in one write', steps: ['set p 0 0 1\r\n1\r\nincr p 1\r\nget p\r\ndelete p\r\nget p\r\nbogus\r\nset p 0 0 2\r\nab\r\nappend p 0 0 1\r\nc\r\ngets p\r\n'] },
  { name: 'quit after replies', steps: ['set qq 0 0 1\r\nx\r\nget qq\r\nquit\r\nget qq\r\n'], closes: true },
  { name: 'HTTP', steps: ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], closes: true },
];

/** Numbers cas uniques by first appearance; steps over data blocks by their length. */
function normalize(reply: Buffer): string {
  const seen = new Map<string, number>();
  let out = '';
  let at = 0;
  while (at < reply.length) {
    const nl = reply.indexOf('\r\n', at);
    if (nl < 0) return out + reply.subarray(at).toString('latin1');
    const line = reply.subarray(at, nl).toString('latin1');
    at = nl + 2;
    const m = /^VALUE (\S+) (\d+) (\d+)(?: (\d+))?$/.exec(line);
    if (m === null) {
      out += `${line}\n`;
      continue;
    }
    const [, key, flags, bytes, cas] = m;
    let tag = '';
    if (cas !== undefined) {
      if (!seen.has(cas)) seen.set(cas, seen.size + 1);
      tag = ` <cas${seen.get(cas)}>`;
    }
    const data = reply.subarray(at, at + Number(bytes)).toString('latin1');
    at += Number(bytes) + 2;
    out += `VALUE ${key} ${flags} ${bytes}${tag}\n[${data.length > 80 ? `${data.slice(0, 20)}…(${data.length})` : data}]\n`;
  }
  return out;
}

const SENTINEL = 'set __sentinel__ 0 0 8\r\nSENTINEL\r\nget __sentinel__\r\n';
const SENTINEL_REPLY = 'STORED\r\nVALUE __sentinel__ 0 8\r\nSENTINEL\r\nEND\r\n';

async function runCase(port: number, c: Case): Promise<{ replies: string[]; closed: boolean }> {
  const client = await LineClient.connect(port);
  const replies: string[] = [];
  let cas = '0';
  try {
    for (const step of c.steps) {
      const text = step.replaceAll('{cas}', cas);
      if (c.closes) {
        client.socket.write(Buffer.from(text, 'latin1'));
        replies.push(normalize(Buffer.from(await client.waitClose(), 'latin1')));
        break;
      }
      const got = await client.ask(Buffer.from(text + SENTINEL, 'latin1'), SENTINEL_REPLY);
      assert.ok(got.endsWith(SENTINEL_REPLY), `${c.name}: no sentinel after ${JSON.stringify(text.slice(0, 60))}`);
      const reply = Buffer.from(got.slice(0, -SENTINEL_REPLY.length), 'latin1');
      for (const m of reply.toString('latin1').matchAll(/^VALUE \S+ \d+ \d+ (\d+)\r$/gm)) cas = m[1]!;
      replies.push(normalize(reply));
    }
    return { replies, closed: client.closed };
  } finally {
    client.close();
  }
}

async function startMemcached(): Promise<{ port: number; child: ChildProcess }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const args = ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-t', '1', '-m', '64', '-c', '64'];
    if (process.getuid?.() === 0) args.push('-u', 'root');
    const child = spawn('memcached', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let exited = false;
    child.on('exit', () => (exited = true));
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) return { port, child };
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!exited) {
      child.kill();
      await once(child, 'exit');
    }
  }
  throw new Error('memcached did not start on any of 5 random ports');
}

test('memcached differential: our replies equal real memcached 1.6 replies, script by script', { timeout: 120_000 }, async (t) => {
  if (!requireOrSkip(t, hasCommand('memcached'), 'the memcached binary is not installed (apt-get install memcached)')) return;
  const real = await startMemcached();
  const { server, port } = await listenLocal();
  serveMemcached(server);
  try {
    for (const c of CASES) {
      const theirs = await runCase(real.port, c);
      const ours = await runCase(port, c);
      assert.deepEqual(ours, theirs, c.name);
    }
  } finally {
    real.child.kill('SIGTERM');
    if (real.child.exitCode === null) await once(real.child, 'exit');
    await closeServer(server);
  }
});

test('memcached differential, sharded: on 2 and 4 shards in workers (every key on its hash\'s shard, commands crossing over), replies equal real memcached 1.6 replies, script by script', { timeout: 180_000 }, async (t) => {
  if (!requireOrSkip(t, hasCommand('memcached'), 'the memcached binary is not installed (apt-get install memcached)')) return;
  const real = await startMemcached();
  try {
    const theirs: { replies: string[]; closed: boolean }[] = [];
    for (const c of CASES) theirs.push(await runCase(real.port, c));
    for (const shards of [2, 4]) {
      const port = new SharedArrayBuffer(4);
      const engine = await launch(new URL('./sharded-memcached-app.js', import.meta.url), { shards, data: port, rpcBytes: 4 << 20 });
      try {
        const at = Atomics.load(new Int32Array(port), 0);
        for (const [i, c] of CASES.entries()) assert.deepEqual(await runCase(at, c), theirs[i], `${shards} shards: ${c.name}`);
        // stats adds up every shard's counters: 12 items, wherever they went.
        const client = await LineClient.connect(at);
        try {
          const sets = Array.from({ length: 12 }, (_, i) => `set s${i} 0 0 1\r\nx\r\n`).join('');
          await client.ask(Buffer.from('flush_all\r\n' + sets, 'latin1'), 'STORED\r\n'.repeat(12));
          const stats = await client.ask(Buffer.from('stats\r\n', 'latin1'), 'END\r\n');
          assert.match(stats, /^STAT curr_items 12\r$/m, `${shards} shards: stats counts every shard's items`);
        } finally {
          client.close();
        }
      } finally {
        await engine.stop();
      }
    }
  } finally {
    real.child.kill('SIGTERM');
    if (real.child.exitCode === null) await once(real.child, 'exit');
  }
});

test('memcached differential: a line with no end past 2048 bytes closes both; ours says why first (memcached 1.6.18 does not)', { timeout: 60_000 }, async (t) => {
  if (!requireOrSkip(t, hasCommand('memcached'), 'the memcached binary is not installed (apt-get install memcached)')) return;
  const real = await startMemcached();
  const { server, port } = await listenLocal();
  serveMemcached(server);
  try {
    const line = { name: 'line too long', steps: ['x'.repeat(2049)], closes: true };
    assert.deepEqual(await runCase(real.port, line), { replies: [''], closed: true });
    assert.deepEqual(await runCase(port, line), { replies: ['CLIENT_ERROR line too long\n'], closed: true });
  } finally {
    real.child.kill('SIGTERM');
    if (real.child.exitCode === null) await once(real.child, 'exit');
    await closeServer(server);
  }
});
