/**
 * Both ends of the TAP TCP tests run `exchange`: here on a Shoal socket, and in the
 * kernel-side peer, a node:net process inside the namespace (`ip netns exec NS node -e
 * PEER_SCRIPT MODE HOST PORT BYTES [LIMIT_MS [together]]`) that runs the same function from its source.
 *
 * Each end sends BYTES random bytes and receives what comes, in turns: the end that goes
 * first sends everything and ends its half; the other sends once it has seen that end.
 * With `together`, both send at once (data and ACKs share the segments both ways).
 * Each reports the SHA-256 of what it sent and of what it received, the bytes received,
 * and the milliseconds from the first byte received to the end (one JSON line, in the
 * peer's case).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';

export interface ExchangeReport {
  sent: string;
  received: string;
  bytes: number;
  /** From the first byte received to the peer's end. */
  ms: number;
}

export function exchange(sock: Duplex, first: boolean, size: number, together = false): Promise<ExchangeReport> {
  const out = randomBytes(size);
  const sent = createHash('sha256').update(out).digest('hex');
  const h = createHash('sha256');
  let bytes = 0;
  let start = 0n;
  let ms = 0;
  const send = (): Promise<void> =>
    new Promise((resolve, reject) => {
      let at = 0;
      const pump = (): void => {
        while (at < out.length) {
          const piece = out.subarray(at, Math.min(at + 65536, out.length));
          at += piece.length;
          if (!sock.write(piece)) {
            sock.once('drain', pump);
            return;
          }
        }
        sock.end(() => resolve());
      };
      sock.once('error', reject);
      pump();
    });
  const received = new Promise<void>((resolve, reject) => {
    sock.on('data', (d: Uint8Array) => {
      if (bytes === 0) start = process.hrtime.bigint();
      bytes += d.length;
      h.update(d);
    });
    sock.on('end', () => {
      ms = Number(process.hrtime.bigint() - start) / 1e6;
      resolve();
    });
    sock.once('error', reject);
  });
  const done = together ? Promise.all([send(), received]) : first ? send().then(() => received) : received.then(send);
  return done.then(
    () =>
      new Promise<ExchangeReport>((resolve) => {
        const report = { sent, received: h.digest('hex'), bytes, ms };
        if (sock.destroyed) resolve(report);
        else {
          sock.once('close', () => resolve(report));
          sock.destroy();
        }
      }),
  );
}

export const PEER_SCRIPT = `
const net = require('node:net');
const { createHash, randomBytes } = require('node:crypto');
const [mode, host, port, size, limitMs, together] = process.argv.slice(1);
${exchange.toString()}
const report = (r) => console.log(JSON.stringify(r));
if (mode === 'server') {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    server.close();
    exchange(s, false, Number(size), together === 'together').then(report);
  });
  server.listen(Number(port), host, () => console.log('READY'));
} else {
  const s = net.connect({ port: Number(port), host, allowHalfOpen: true }, () => exchange(s, true, Number(size), together === 'together').then(report));
}
setTimeout(() => { console.error('peer: timed out'); process.exit(3); }, Number(limitMs ?? 120000)).unref();
`;

/** The peer's JSON line, once it exits (rejects with its stderr on failure). */
export function peerReport(peer: ChildProcess): Promise<ExchangeReport> {
  let out = '';
  let err = '';
  peer.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  peer.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    peer.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || line === undefined) reject(new Error(`kernel-side peer exited with ${code}: ${err.trim() || out.trim()}`));
      else resolve(JSON.parse(line) as ExchangeReport);
    });
  });
}

/** Resolves when the kernel-side server listens. */
export function peerReady(peer: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      if (d.toString().includes('READY')) {
        peer.stdout!.off('data', onData);
        resolve();
      }
    };
    peer.stdout!.on('data', onData);
    peer.once('exit', (code) => reject(new Error(`kernel-side server exited with ${code} before listening`)));
  });
}
