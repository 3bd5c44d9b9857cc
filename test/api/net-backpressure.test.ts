/**
 * Back pressure through the node:net API, end to end: a reader that does not read
 * closes its TCP window, the writer's send buffer fills, its stream buffers up to the
 * highWaterMark, write() says false and 'drain' waits for the reader. What is held in
 * memory stays bounded by the buffers' limits, however much the writer wants to send.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../src/api/network.js';
import { Net, type Socket } from '../../src/api/net/index.js';
import { DEFAULT_TCP_OPTIONS } from '../../src/stack/tcp/options.js';
import type { TcpConnection } from '../../src/stack/tcp/connection.js';
import type { Host } from '../../src/api/host.js';
import { closed, delay, once, seededBytes, sha256 } from './compat-harness.js';

/** What TCP's buffers may grow to (autotuning; they start at sendBuffer / recvBuffer). */
const SEND_BUFFER_MAX = DEFAULT_TCP_OPTIONS.sendBufferMax;
const RECV_BUFFER_MAX = DEFAULT_TCP_OPTIONS.recvBufferMax;
/** The largest chunk the socket reads out of TCP at once (socket.ts). */
const READ_CHUNK = 64 * 1024;

/** The TCP connection under a socket, found in the host's table by its 4-tuple. */
function tcpOf(host: Host, s: Socket): TcpConnection {
  const c = host.stack.tcp.lookup(host.stack.address, s.localPort!, (s.remoteAddress!.split('.').reduce((a, p) => a * 256 + Number(p), 0)) >>> 0, s.remotePort!);
  assert.ok(c !== null, 'the socket has a TCP connection');
  return c;
}

test('a server that does not read: write() returns false, the window closes, drain waits for the reader, memory stays bounded', async () => {
  const SEED = 9001;
  const network = new MemoryNetwork();
  const sockets: Socket[] = [];
  try {
    const a = network.addHost();
    const b = network.addHost();
    let serverSide: Socket | null = null;
    const received: Buffer[] = [];
    const server = new Net(b.stack).createServer({ pauseOnConnect: true }, (s) => {
      sockets.push(s);
      serverSide = s;
      s.on('data', (d: Buffer) => received.push(d));
    });
    server.listen(5000, '10.0.0.2');
    await once(server, 'listening');
    const c = new Net(a.stack).connect(5000, '10.0.0.2');
    sockets.push(c);
    await once(c, 'connect');
    await delay(10);
    const server_ = serverSide as Socket | null;
    assert.ok(server_ !== null);

    // Write far more than any buffer holds, one 64 KiB chunk at a time, until stalled.
    const data = seededBytes(16 << 20, SEED);
    const CHUNK = 64 * 1024;
    let offset = 0;
    let falses = 0;
    for (;;) {
      let ok = true;
      while (ok && offset < data.length) {
        ok = c.write(data.subarray(offset, offset + CHUNK));
        offset += CHUNK;
      }
      if (!ok) falses++;
      const drained = await Promise.race([once(c, 'drain').then(() => true), delay(200).then(() => false)]);
      if (!drained) break;
    }
    assert.ok(falses > 0, 'write() returned false');
    assert.ok(offset < data.length, `stalled before everything was written (seed ${SEED})`);

    // Stalled: the reader's TCP holds a full receive buffer and advertises a zero window
    // (waited for: on a busy machine the last segments may still be on their way).
    const client = tcpOf(a, c);
    const reader = tcpOf(b, server_);
    // Full: less than one unit of the window scale (2^7 bytes) is left free, which the
    // window field cannot offer (RFC 7323 §2.3), and perhaps what rounding let in beyond it.
    const unit = 1 << reader.windowScales.receive;
    const full = (): boolean => reader.readableLength > reader.receiveBufferSize - unit;
    for (let waited = 0; waited < 5000 && !(full() && client.snd.sndWnd === 0); waited += 20) await delay(20);
    assert.equal(server_.bytesRead, 0, 'the server has not read');
    assert.equal(server_.readableLength, 0);
    assert.equal(reader.receiveBufferSize, DEFAULT_TCP_OPTIONS.recvBuffer, 'a reader that reads nothing does not grow its buffer');
    assert.ok(full() && reader.readableLength < reader.receiveBufferSize + 4 * unit, `the receive queue is full (${reader.readableLength} of ${reader.receiveBufferSize})`);
    assert.equal(client.snd.sndWnd, 0, 'the peer advertises a zero window');
    // TCP wakes a writer when a quarter of its send buffer is free: it may stall with less free.
    assert.ok(client.sendBufferSize <= SEND_BUFFER_MAX);
    assert.ok(client.writableLength > (client.sendBufferSize * 3) / 4, `the send buffer is full (${client.writableLength} of ${client.sendBufferSize} bytes)`);
    // Held in memory: the two TCP buffers and the stream's (below its mark plus one chunk;
    // the chunk TCP is taking counts in both until it is all taken).
    assert.ok(c.writableLength <= c.writableHighWaterMark + CHUNK, `writer's stream holds ${c.writableLength}`);
    const held = client.writableLength + reader.readableLength + c.writableLength;
    assert.ok(offset >= client.writableLength + reader.readableLength && offset <= held, `written ${offset}, held ${held}`);
    assert.ok(held <= client.sendBufferSize + reader.readableLength + c.writableHighWaterMark + CHUNK, `held ${held}`);

    // No drain while nobody reads.
    let drained = false;
    c.once('drain', () => (drained = true));
    await delay(300);
    assert.equal(drained, false, "'drain' before the server read");
    assert.ok(a.stack.tcp.counters.persistProbes > 0, 'the writer probes the zero window');

    // The reader reads: the window opens, drain comes, and everything arrives in order.
    server_.resume();
    await once(c, 'drain');
    const writeRest = async (): Promise<void> => {
      while (offset < data.length) {
        if (!c.write(data.subarray(offset, offset + CHUNK))) await once(c, 'drain');
        offset += CHUNK;
      }
      c.end();
    };
    const serverEnded = once(server_, 'end');
    await writeRest();
    await serverEnded;
    const all = Buffer.concat(received);
    assert.equal(all.length, data.length, `seed ${SEED}`);
    assert.equal(sha256(all), sha256(data), `seed ${SEED}`);
    await closed(c);
    server.close();
    await once(server, 'close');
  } finally {
    // Sockets still open when the hosts go would see ECONNABORTED.
    for (const s of sockets) s.destroy();
    network.close();
  }
});

test('a slow reader: the stream never holds more than its highWaterMark and one read, TCP no more than its buffer may grow to', async () => {
  const SEED = 9002;
  const network = new MemoryNetwork();
  const sockets: Socket[] = [];
  try {
    const a = network.addHost();
    const b = network.addHost();
    const data = seededBytes(8 << 20, SEED);
    const server = new Net(b.stack).createServer((s) => {
      sockets.push(s);
      s.end(data);
    });
    server.listen(5001, '10.0.0.2');
    await once(server, 'listening');
    const c = new Net(a.stack).connect(5001, '10.0.0.2');
    sockets.push(c);
    c.pause();
    await once(c, 'connect');
    const chunks: Buffer[] = [];
    let maxStream = 0;
    let maxTcp = 0;
    let ended = false;
    c.on('end', () => (ended = true));
    const cClosed = closed(c);
    // Read a little at a time, giving the network time to fill whatever it may.
    while (!ended) {
      await delay(2);
      maxStream = Math.max(maxStream, c.readableLength);
      const conn = a.stack.tcp.lookup(a.stack.address, c.localPort!, b.stack.address, 5001);
      if (conn !== null) maxTcp = Math.max(maxTcp, conn.readableLength);
      let d: Buffer | null;
      let n = 0;
      while (n < 256 * 1024 && (d = c.read() as Buffer | null) !== null) {
        chunks.push(d);
        n += d.length;
      }
      if (c.readableEnded) break;
    }
    await cClosed;
    const all = Buffer.concat(chunks);
    assert.equal(all.length, data.length, `seed ${SEED}`);
    assert.equal(sha256(all), sha256(data), `seed ${SEED}`);
    assert.ok(maxStream > 0 && maxStream <= c.readableHighWaterMark + READ_CHUNK, `the stream held up to ${maxStream} bytes`);
    assert.ok(maxTcp > 0 && maxTcp <= RECV_BUFFER_MAX, `TCP held up to ${maxTcp} bytes`);
    server.close();
    await once(server, 'close');
  } finally {
    // Sockets still open when the hosts go would see ECONNABORTED.
    for (const s of sockets) s.destroy();
    network.close();
  }
});
