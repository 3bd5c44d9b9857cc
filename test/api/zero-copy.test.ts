/** The zero-copy completion API on two stacks in virtual time: completions, views, owned sends, limits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { twoStacks } from '../stack/net.js';
import { CompletionQueue, type Completion, type ZcSocket } from '../../src/api/zero-copy/index.js';
import type { Packet } from '../../src/packet/packet.js';
import { seedFromEnv } from '../../src/util/random.js';

const SEED = seedFromEnv();
const S = `(SHOAL_SEED=${SEED})`;

function bytesOf(p: Packet): Uint8Array {
  const out = new Uint8Array(p.length);
  p.copyTo(out, 0);
  return out;
}

/** Polls `cq` into `log` (kinds) and hands each completion to `on`. */
function drain(cq: CompletionQueue, on: (c: Completion) => void): void {
  for (let n = cq.poll(16); n > 0; n = cq.poll(16)) for (let i = 0; i < n; i++) on(cq.completions[i]!);
}

test('zero-copy: an echo server that sends back views of the frames it received, released when they come back as sent', () => {
  const h = twoStacks({ seed: SEED });
  const server = new CompletionQueue(h.b);
  const client = new CompletionQueue(h.a);
  server.listen(7);
  const serverLog: string[] = [];
  const clientLog: string[] = [];
  // The server keeps each received packet until the view it sent from it is acknowledged.
  const pending = new Map<Uint8Array, Packet>();
  const onServer = (c: Completion): void => {
    serverLog.push(c.kind);
    if (c.kind === 'data') {
      const p = c.data!;
      // Send each fragment as it lies (no copy), remember the packet to release it later.
      for (let i = 0; i < p.fragmentCount; i++) {
        if (p.lens[i] === 0) continue;
        const view = p.bufs[i]!.subarray(p.offs[i]!, p.offs[i]! + p.lens[i]!);
        assert.ok(c.socket.send(view), S);
        pending.set(view, p);
      }
    } else if (c.kind === 'sent') {
      const p = pending.get(c.buffer!)!;
      pending.delete(c.buffer!);
      if (![...pending.values()].includes(p)) server.release(p);
    } else if (c.kind === 'end') {
      c.socket.end();
    }
  };
  const total = 1 << 20;
  const src = new Uint8Array(total);
  for (let i = 0; i < total; i++) src[i] = (i * 7 + (i >>> 11)) & 0xff;
  const got: Uint8Array[] = [];
  let gotBytes = 0;
  let closed = false;
  let sock: ZcSocket | null = null;
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < total; off += 10_000) chunks.push(src.subarray(off, Math.min(total, off + 10_000)));
  let next = 0;
  const sendMore = (s: ZcSocket): void => {
    while (next < chunks.length && s.send(chunks[next]!)) next++;
    if (next === chunks.length) {
      next++;
      s.end();
    }
  };
  const returned = new Set<Uint8Array>();
  const onClient = (c: Completion): void => {
    clientLog.push(c.kind);
    if (c.kind === 'connected' || c.kind === 'writable') sendMore(c.socket);
    else if (c.kind === 'sent') returned.add(c.buffer!);
    else if (c.kind === 'data') {
      got.push(bytesOf(c.data!));
      gotBytes += c.data!.length;
      client.release(c.data!);
    } else if (c.kind === 'closed') closed = true;
  };
  sock = client.connect('10.0.0.2', 7);
  assert.ok(sock);
  const ok = h.run(() => {
    drain(server, onServer);
    drain(client, onClient);
    return closed;
  }, 60_000);
  assert.ok(ok, `the connection closed ${S}`);
  assert.equal(gotBytes, total);
  const sha = (b: Uint8Array[]): string => {
    const x = createHash('sha256');
    for (const p of b) x.update(p);
    return x.digest('hex');
  };
  assert.equal(sha(got), sha([src]), 'echoed unchanged');
  assert.equal(returned.size, chunks.length, 'every buffer given to send() came back');
  assert.ok(chunks.every((c) => returned.has(c)), 'as the same objects');
  assert.equal(serverLog[0], 'accepted');
  assert.equal(clientLog[0], 'connected');
  assert.deepEqual(clientLog.filter((k) => k === 'end' || k === 'closed'), ['end', 'closed']);
  assert.equal(server.heldPackets + client.heldPackets, 0);
  assert.equal(pending.size, 0);
  h.run(undefined, 70_000);
  assert.equal(h.a.pool.inUse + h.b.pool.inUse + h.devA.pool.inUse + h.devB.pool.inUse, 0, 'every frame back');
});

test('zero-copy: an application that holds too much stops taking data; the window closes; a release resumes it', () => {
  const h = twoStacks({ seed: SEED });
  const limit = 256 * 1024;
  const server = new CompletionQueue(h.b, { maxHeldBytes: limit });
  const client = new CompletionQueue(h.a);
  server.listen(9);
  const held: Packet[] = [];
  let sent = 0;
  const c = client.connect('10.0.0.2', 9);
  const payload = new Uint8Array(1 << 20).fill(3);
  const pump = (): void => {
    // Fresh slices each time (each send owns its buffer until it comes back).
    while (sent < payload.length && c.send(payload.subarray(sent, Math.min(payload.length, sent + 16_384)))) sent = Math.min(payload.length, sent + 16_384);
  };
  h.run(() => {
    drain(client, (x) => {
      if (x.kind === 'connected' || x.kind === 'writable') pump();
    });
    drain(server, (x) => {
      if (x.kind === 'data') held.push(x.data!);
    });
    return false;
  }, 2_000);
  const heldBytes = held.reduce((n, p) => n + p.length, 0);
  const charged = held.reduce((n, p) => n + p.truesize, 0);
  assert.equal(server.heldPackets, held.length);
  assert.equal(server.heldBytes, charged, 'held packets are charged by what they keep alive');
  // It stops at the limit: what it holds reached it, and without the last packet it had not.
  assert.ok(charged >= limit && charged - held[held.length - 1]!.truesize < limit, `held ${held.length} packets, ${charged} B of ${limit} ${S}`);
  assert.ok(sent < payload.length, 'the sender is held back');
  // Releasing lets the rest through.
  let received = heldBytes;
  for (const p of held.splice(0)) server.release(p);
  h.run(() => {
    drain(client, (x) => {
      if (x.kind === 'writable') pump();
    });
    drain(server, (x) => {
      if (x.kind === 'data') {
        received += x.data!.length;
        server.release(x.data!);
      }
    });
    return received === payload.length;
  }, 60_000);
  assert.equal(received, payload.length, S);
});

test('zero-copy: a refused connection completes as closed with ECONNREFUSED', () => {
  const h = twoStacks({ seed: SEED });
  const client = new CompletionQueue(h.a);
  client.connect('10.0.0.2', 4444);
  const log: string[] = [];
  h.run(() => {
    drain(client, (x) => log.push(x.kind === 'closed' ? `closed:${x.error?.code}` : x.kind));
    return log.length > 0;
  }, 10_000);
  assert.deepEqual(log, ['closed:ECONNREFUSED']);
});

test('zero-copy: a buffer larger than the whole send buffer is taken when the buffer is empty, and arrives', () => {
  const h = twoStacks({ seed: SEED });
  const server = new CompletionQueue(h.b);
  const client = new CompletionQueue(h.a);
  server.listen(11);
  const big = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  let received = 0;
  let sentBack = false;
  client.connect('10.0.0.2', 11);
  h.run(() => {
    drain(client, (x) => {
      if (x.kind === 'connected') assert.ok(x.socket.send(big), 'taken whole');
      if (x.kind === 'sent') sentBack = x.buffer === big;
    });
    drain(server, (x) => {
      if (x.kind === 'data') {
        received += x.data!.length;
        server.release(x.data!);
      }
    });
    return received === big.length && sentBack;
  }, 60_000);
  assert.equal(received, big.length, S);
  assert.ok(sentBack, 'and came back');
});

test('zero-copy: a peer that sends its FIN before the server polls still reaches it as data, end and closed', () => {
  const h = twoStacks({ seed: SEED });
  const server = new CompletionQueue(h.b);
  server.listen(12);
  const c = h.a.tcp.connect({ dst: h.b.address, dstPort: 12 });
  c.onConnect = () => {
    c.write(new TextEncoder().encode('early'));
    c.shutdown();
  };
  // Let the whole exchange happen before anyone polls the server.
  h.run(() => c.stateName === 'FIN_WAIT_2', 5_000);
  const log: string[] = [];
  h.run(() => {
    drain(server, (x) => {
      log.push(x.kind === 'data' ? `data:${new TextDecoder().decode(bytesOf(x.data!))}` : x.kind);
      if (x.kind === 'data') server.release(x.data!);
      if (x.kind === 'end') x.socket.close();
    });
    return log.includes('closed');
  }, 5_000);
  assert.deepEqual(log, ['accepted', 'data:early', 'end', 'closed'], S);
});

test('zero-copy: at the held limit, writable still comes; copies after zero-copy sends stay within the send-buffer limit', () => {
  const h = twoStacks({ seed: SEED });
  const server = new CompletionQueue(h.b, { maxHeldBytes: 1 });
  const client = new CompletionQueue(h.a);
  server.listen(13);
  const held: Packet[] = [];
  let writable = 0;
  let sock: ZcSocket | null = null;
  client.connect('10.0.0.2', 13);
  h.run(() => {
    drain(client, (x) => {
      if (x.kind === 'connected') x.socket.send(new Uint8Array(100_000));
    });
    drain(server, (x) => {
      if (x.kind === 'accepted') {
        sock = x.socket;
        // Fill the server's send buffer: alternate owned sends and small copies.
        let n = 0;
        while (x.socket.send(new Uint8Array(1)) && x.socket.write(new Uint8Array(1)) === 1) n++;
        assert.ok(n > 0 && n < 1000, `entries bounded by the per-block charge: ${n} ${S}`);
      }
      if (x.kind === 'data') held.push(x.data!);
      if (x.kind === 'writable') writable++;
    });
    return writable > 0;
  }, 10_000);
  assert.ok(sock !== null);
  assert.equal(held.length, 1, 'no more data taken at the limit');
  assert.ok(writable > 0, `writable came while holding ${held.length} ${S}`);
  for (const p of held) server.release(p);
});

test('zero-copy: maxHeld, counted in packets before, is refused with a line saying what replaced it', () => {
  const h = twoStacks({ seed: SEED });
  assert.throws(() => new CompletionQueue(h.b, { maxHeld: 8 } as never), /maxHeld \(packets\) is now maxHeldBytes/);
  assert.throws(() => new CompletionQueue(h.b, { maxHeldBytes: 0 }), /maxHeldBytes must be a positive integer/);
});
