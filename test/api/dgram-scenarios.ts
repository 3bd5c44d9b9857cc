/**
 * The compatibility scenarios, each written once against a World (see dgram-world.ts).
 * Host A's sockets are a*, host B's b*. Every wait throws when its event does not come.
 */

import { Buffer } from 'node:buffer';
import { pause, preview, type Log, type Scenario, type World } from './dgram-world.js';

async function bound(log: Log, label: string, s: ReturnType<Log['socket']>, ...args: unknown[]): Promise<void> {
  s.bind(...args);
  await log.until(`${label} listening`);
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = n;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

export const scenarios: Record<string, Scenario> = {
  'bind, send, receive, echo': async (log: Log, w: World) => {
    const b1 = log.socket('b1', 'B');
    b1.on('message', (msg: Buffer, rinfo: { address: string; port: number }) => b1.send(msg.toString().toUpperCase(), rinfo.port, rinfo.address, log.sendCallback('b1', 'echo-cb')));
    b1.bind({ port: 0, address: w.host.B }, () => log.add('b1 bind-cb'));
    log.add('b1 bind returned');
    await log.until('b1 bind-cb');
    log.attempt('b1', 'address()', () => b1.address());
    const a1 = log.socket('a1', 'A');
    a1.on('message', (msg: Buffer) => log.add(`a1 extra listener ${msg}`));
    a1.bind(0, () => log.add('a1 bind-cb'));
    await log.until('a1 bind-cb');
    log.attempt('a1', 'address()', () => a1.address());
    a1.send('hello', log.port(b1), w.host.B, log.sendCallback('a1'));
    a1.send(Buffer.from('world'), log.port(b1), w.host.B);
    await log.until('a1 message "WORLD"');
    a1.close(() => log.add('a1 close-cb'));
    b1.close();
    log.add('closes returned');
    await log.until('b1 close');
  },

  'send before bind: an implicit bind to 0.0.0.0, queued sends in order, a queued close': async (log: Log, w: World) => {
    const b1 = log.socket('b1', 'B');
    await bound(log, 'b1', b1, 0);
    const a1 = log.socket('a1', 'A');
    a1.send('one', log.port(b1), w.host.B, log.sendCallback('a1', 'send-cb one'));
    log.attempt('a1', 'address() while binding', () => a1.address());
    log.attempt('a1', 'bind() while binding', () => a1.bind(0));
    a1.send('two', log.port(b1), w.host.B, log.sendCallback('a1', 'send-cb two'));
    log.add('sends returned');
    await log.until('b1 message "two"');
    log.attempt('a1', 'address()', () => a1.address());
    // A send waiting for the bind, then close(): the close waits too, and the send is dropped without its callback.
    const a2 = log.socket('a2', 'A');
    a2.send('lost', log.port(b1), w.host.B, log.sendCallback('a2'));
    log.attempt('a2', 'close() while binding returns itself', () => a2.close(() => log.add('a2 close-cb')) === a2);
    await log.until('a2 close-cb');
    await pause(100);
  },

  'connect, send, disconnect': async (log: Log, w: World) => {
    const b1 = log.socket('b1', 'B');
    const b2 = log.socket('b2', 'B');
    await bound(log, 'b1', b1, 0);
    await bound(log, 'b2', b2, 0);
    const a1 = log.socket('a1', 'A');
    log.attempt('a1', 'remoteAddress() unconnected', () => a1.remoteAddress());
    log.attempt('a1', 'disconnect() unconnected', () => a1.disconnect());
    a1.connect(log.port(b1), w.host.B, (...args: unknown[]) => log.add(`a1 connect-cb args=${args.length}`));
    log.attempt('a1', 'connect() while connecting', () => a1.connect(log.port(b1), w.host.B));
    log.attempt('a1', 'send() without a port while connecting', () => a1.send('x'));
    await log.until('a1 connect-cb');
    log.attempt('a1', 'remoteAddress()', () => a1.remoteAddress());
    log.attempt('a1', 'address() (connect set the local address)', () => a1.address());
    log.attempt('a1', 'connect() again', () => a1.connect(log.port(b2), w.host.B));
    log.attempt('a1', 'send(msg, offset, length, port)', () => a1.send('abc', 0, 3, log.port(b1)));
    a1.send('one', log.sendCallback('a1', 'send-cb one'));
    a1.send(Buffer.from('xtwox'), 1, 3, log.sendCallback('a1', 'send-cb two'));
    // (Node: a port given where the callback goes is taken as the callback, and ignored.)
    a1.send('three', log.port(b1));
    await log.until('b1 message "three"');
    // Only the peer gets through to a connected socket.
    b2.send('from b2', log.port(a1), w.host.A);
    b1.send('from b1', log.port(a1), w.host.A);
    await log.until('a1 message "from b1"');
    a1.disconnect();
    log.add('a1 disconnected');
    log.attempt('a1', 'remoteAddress() after disconnect', () => a1.remoteAddress());
    log.attempt('a1', 'disconnect() again', () => a1.disconnect());
    // Linux lets go of a port that bind() did not name, and the next send binds a new one.
    log.attempt('a1', 'address() after disconnect', () => a1.address());
    a1.send('after', log.port(b1), w.host.B, (error: Error | null) => {
      log.learn('a1', a1);
      log.add(`a1 send-cb after ${error ? log.describe(error) : 'ok'}`);
    });
    await log.until('b1 message "after"');
    b2.send('from b2 again', log.port(a1), w.host.A);
    await log.until('a1 message "from b2 again"');
  },

  'a connected socket hears ECONNREFUSED (ICMP port unreachable) as an error event': async (log: Log, w: World) => {
    const gone = log.socket('gone', 'B');
    await bound(log, 'gone', gone, 0);
    const port = log.port(gone);
    gone.close();
    await log.until('gone close');
    const a1 = log.socket('a1', 'A');
    a1.connect(port, w.host.B, () => log.add('a1 connect-cb'));
    await log.until('a1 connect-cb');
    a1.send('anyone?', log.sendCallback('a1'));
    await log.until('a1 error');
    // An unconnected socket is not told.
    const a2 = log.socket('a2', 'A');
    a2.send('anyone?', port, w.host.B, log.sendCallback('a2'));
    await log.until('a2 send-cb');
    await pause(100);
  },

  'argument errors, thrown as Node throws them': async (log: Log, w: World) => {
    const s = log.socket('s', 'A');
    const to = w.host.B;
    for (const port of [0, 70000, -1, 1.5, 'abc', '', null]) log.attempt('s', `send(msg, ${JSON.stringify(port)}, host)`, () => s.send('x', port, to));
    log.attempt('s', 'send(msg) unconnected', () => s.send('x'));
    log.attempt('s', 'send(42, …)', () => s.send(42, 1234, to));
    log.attempt('s', 'send([buffer, 42], …)', () => s.send([Buffer.from('a'), 42], 1234, to));
    log.attempt('s', 'send({}, …)', () => s.send({}, 1234, to));
    log.attempt('s', 'send(msg, 1234, 42)', () => s.send('x', 1234, 42));
    log.attempt('s', 'send(buffer, 5, 1, …) offset past the end', () => s.send(Buffer.from('abc'), 5, 1, 1234, to));
    log.attempt('s', 'send(buffer, 1, 5, …) length past the end', () => s.send(Buffer.from('abc'), 1, 5, 1234, to));
    log.attempt('s', 'connect(0)', () => s.connect(0));
    log.attempt('s', 'connect(70000)', () => s.connect(70000));
    log.attempt('s', 'connect(1234, 42)', () => s.connect(1234, 42));
    log.attempt('s', 'setTTL("64")', () => s.setTTL('64' as unknown as number));
    log.attempt('s', 'bind(0, 42)', () => s.bind(0, 42));
    log.attempt('s', 'ref() is itself', () => s.ref() === s);
    log.attempt('s', 'unref() is itself', () => s.unref() === s);
  },

  'before bind: no socket yet (EBADF); after: options, buffer sizes, bind twice': async (log: Log) => {
    const s = log.socket('s', 'A', { type: 'udp4', recvBufferSize: 100_000 });
    log.attempt('s', 'address()', () => s.address());
    log.attempt('s', 'setBroadcast(true)', () => s.setBroadcast(true));
    log.attempt('s', 'setTTL(64)', () => s.setTTL(64));
    log.attempt('s', 'setTTL(0)', () => s.setTTL(0));
    log.attempt('s', 'getRecvBufferSize()', () => s.getRecvBufferSize());
    log.attempt('s', 'getSendBufferSize()', () => s.getSendBufferSize());
    await bound(log, 's', s);
    log.attempt('s', 'bind() again', () => s.bind());
    log.attempt('s', 'setBroadcast(true)', () => s.setBroadcast(true));
    for (const ttl of [0, 256, 1, 64, 255]) log.attempt('s', `setTTL(${ttl})`, () => s.setTTL(ttl));
    log.attempt('s', 'getRecvBufferSize() (recvBufferSize 100000, doubled by Linux)', () => s.getRecvBufferSize());
    log.attempt('s', 'getSendBufferSize() (the default)', () => s.getSendBufferSize());
    log.attempt('s', 'setSendBufferSize(1)', () => s.setSendBufferSize(1));
    log.attempt('s', 'getSendBufferSize() (Linux floor)', () => s.getSendBufferSize());
    log.attempt('s', 'setRecvBufferSize(1)', () => s.setRecvBufferSize(1));
    log.attempt('s', 'getRecvBufferSize() (Linux floor)', () => s.getRecvBufferSize());
    log.attempt('s', 'setRecvBufferSize(50000)', () => s.setRecvBufferSize(50_000));
    log.attempt('s', 'getRecvBufferSize()', () => s.getRecvBufferSize());
    log.attempt('s', 'setRecvBufferSize(-1)', () => s.setRecvBufferSize(-1));
    log.attempt('s', 'setRecvBufferSize(1.5)', () => s.setRecvBufferSize(1.5));
    // A bad recvBufferSize option throws when the socket starts listening (here: caught by the bind attempt's tick).
  },

  'bind errors: EADDRINUSE (unless every socket reuses), EADDRNOTAVAIL, EINVAL; a failed bind can be retried': async (log: Log) => {
    const s = log.socket('s', 'A');
    await bound(log, 's', s, 0);
    const t = log.socket('t', 'A');
    t.bind(log.port(s), () => log.add('t bind-cb (must not happen)'));
    await log.until('t error');
    log.attempt('t', 'address() after the failed bind', () => t.address());
    t.bind(0, () => log.add('t bind-cb'));
    await log.until('t bind-cb');
    const r1 = log.socket('r1', 'A', { type: 'udp4', reuseAddr: true });
    await bound(log, 'r1', r1, 0);
    const r2 = log.socket('r2', 'A', { type: 'udp4', reuseAddr: true });
    r2.bind(log.port(r1), () => log.add('r2 bind-cb (shares the port)'));
    await log.until('r2 bind-cb');
    const r3 = log.socket('r3', 'A');
    r3.bind({ port: log.port(r1) });
    await log.until('r3 error');
    const u = log.socket('u', 'A');
    u.bind(0, '192.0.2.1');
    await log.until('u error');
    log.attempt('u', 'address()', () => u.address());
    const v = log.socket('v', 'A');
    v.bind(0, '::1');
    await log.until('v error');
  },

  'send errors: EMSGSIZE to the callback (dropped without one), EINVAL for an IPv6 address, closed sockets': async (log: Log, w: World) => {
    const b1 = log.socket('b1', 'B');
    await bound(log, 'b1', b1, 0);
    const a1 = log.socket('a1', 'A');
    await bound(log, 'a1', a1, 0);
    a1.send(Buffer.alloc(65_508), log.port(b1), w.host.B, log.sendCallback('a1', 'send-cb 65508'));
    a1.send(Buffer.alloc(65_508), log.port(b1), w.host.B);
    a1.send([Buffer.alloc(60_000), Buffer.alloc(5_508)], log.port(b1), w.host.B, log.sendCallback('a1', 'send-cb gathered 65508'));
    a1.send('x', 9, '::1', log.sendCallback('a1', 'send-cb ::1'));
    a1.send('fits', log.port(b1), w.host.B, log.sendCallback('a1', 'send-cb fits'));
    await log.until('b1 message "fits"');
    await pause(50);
    log.attempt('a1', 'close() returns itself', () => a1.close(() => log.add('a1 close-cb')) === a1);
    a1.on('close', () => log.add('a1 close listener added after close()'));
    log.attempt('a1', 'close() again', () => a1.close());
    log.attempt('a1', 'send() closed', () => a1.send('x', log.port(b1), w.host.B));
    log.attempt('a1', 'bind() closed', () => a1.bind(0));
    log.attempt('a1', 'address() closed', () => a1.address());
    log.attempt('a1', 'remoteAddress() closed', () => a1.remoteAddress());
    log.attempt('a1', 'ref() closed', () => a1.ref() === a1);
    await log.until('a1 close-cb');
    // A send made just before close() never calls back (its address lookup ends after the close).
    const a2 = log.socket('a2', 'A');
    await bound(log, 'a2', a2, 0);
    a2.send('late', log.port(b1), w.host.B, log.sendCallback('a2'));
    a2.close();
    await log.until('a2 close');
    await pause(100);
  },

  'arrays of buffers are one datagram; offset and length pick a range': async (log: Log, w: World) => {
    const b1 = log.socket('b1', 'B');
    await bound(log, 'b1', b1, 0);
    const a1 = log.socket('a1', 'A');
    const to = log.port(b1);
    a1.send([Buffer.from('ab'), new Uint8Array([0x63, 0x64]), 'ef'], to, w.host.B, log.sendCallback('a1', 'send-cb list'));
    a1.send(Buffer.from('hello world'), 6, 5, to, w.host.B, log.sendCallback('a1', 'send-cb range'));
    a1.send('hello', 1, 3, to, w.host.B, log.sendCallback('a1', 'send-cb string range'));
    a1.send(new DataView(new Uint8Array([0x44, 0x56]).buffer), to, w.host.B, log.sendCallback('a1', 'send-cb DataView'));
    a1.send(new Uint16Array([0x4241, 0x4443]), 1, 2, to, w.host.B, log.sendCallback('a1', 'send-cb typed range'));
    a1.send([], to, w.host.B, log.sendCallback('a1', 'send-cb empty list'));
    a1.send('', to, w.host.B, log.sendCallback('a1', 'send-cb empty string'));
    const reused = Buffer.from('first');
    a1.send(reused, to, w.host.B, log.sendCallback('a1', 'send-cb reused'));
    reused.write('XXXXX');
    a1.send('done', to, w.host.B);
    await log.until('b1 message "done"');
  },

  'a 60,000-byte datagram (fragmented on Shoal), 65,507 bytes (the most), then 65,508 (EMSGSIZE)': async (log: Log, w: World) => {
    const b1 = log.socket('b1', 'B');
    await bound(log, 'b1', b1, 0);
    const a1 = log.socket('a1', 'A');
    const big = pattern(60_000);
    log.add(`sending ${preview(big)}`);
    a1.send(big, log.port(b1), w.host.B, log.sendCallback('a1', 'send-cb 60000'));
    const most = pattern(65_507);
    log.add(`sending ${preview(most)}`);
    a1.send([most.subarray(0, 30_000), most.subarray(30_000)], log.port(b1), w.host.B, log.sendCallback('a1', 'send-cb 65507'));
    a1.send(pattern(65_508), log.port(b1), w.host.B, log.sendCallback('a1', 'send-cb 65508'));
    await log.until('b1 message 65507 bytes');
    // b1 echoes the big one to a1.
    b1.send(big, log.port(a1), w.host.A);
    await log.until('a1 message 60000 bytes');
  },

  'close: callback and event order, no events after close, close inside a handler': async (log: Log, w: World) => {
    const b1 = log.socket('b1', 'B');
    b1.on('message', () => {
      b1.close(() => log.add('b1 close-cb'));
      log.add('b1 closed in its handler');
    });
    await bound(log, 'b1', b1, 0);
    const a1 = log.socket('a1', 'A');
    for (const m of ['first', 'second', 'third']) a1.send(m, log.port(b1), w.host.B);
    await log.until('b1 close-cb');
    await pause(100);
    a1.close(() => log.add('a1 close-cb 1'));
    a1.on('close', () => log.add('a1 close listener'));
    log.add('a1 close() returned');
    await log.until('a1 close listener');
    // A socket closed before it was ever bound.
    const a2 = log.socket('a2', 'A');
    a2.close(() => log.add('a2 close-cb'));
    await log.until('a2 close-cb');
    log.attempt('a2', 'bind() closed', () => a2.bind(0));
  },

  'no address means 127.0.0.1: sending and connecting to this host': async (log: Log) => {
    const a1 = log.socket('a1', 'A', 'udp4', { messages: false });
    a1.on('message', (msg: Buffer, rinfo: { address: string; port: number }) => log.add(`a1 got ${msg} from 127.0.0.1? ${rinfo.address === '127.0.0.1'} port a2? ${rinfo.port === a2.address().port}`));
    await bound(log, 'a1', a1, 0);
    const a2 = log.socket('a2', 'A', 'udp4', { messages: false });
    await bound(log, 'a2', a2, 0);
    a2.send('no address', log.port(a1), log.sendCallback('a2'));
    await log.until('a1 got no address');
    const a3 = log.socket('a3', 'A', 'udp4', { messages: false });
    a3.connect(log.port(a1), () => {
      log.add(`a3 connected to 127.0.0.1? ${a3.remoteAddress().address === '127.0.0.1'}, from 127.0.0.1? ${a3.address().address === '127.0.0.1'}`);
      a3.send('connected');
    });
    await log.until('a1 got connected');
  },
};
