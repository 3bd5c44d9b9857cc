/**
 * Both ends of the TAP TCP tests run `exchange`: here on a Shoal socket, and in the
 * kernel-side peer, a node:net process inside the namespace (`ip netns exec NS node -e
 * PEER_SCRIPT MODE HOST PORT BYTES`) that runs the same function from its source.
 *
 * Each end sends BYTES random bytes and receives what comes, in turns: the end that goes
 * first sends everything and ends its half; the other sends once it has seen that end.
 * Each reports the SHA-256 of what it sent and of what it received, the bytes received,
 * and the milliseconds from the first byte received to the end (one JSON line, in the
 * peer's case).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';

export interface ExchangeReport {
  sent: string;
  received: string;
  bytes: number;
  /** From the first byte received to the peer's end. */
  ms: number;
}

export function exchange(sock: Duplex, first: boolean, size: number): Promise<ExchangeReport> {
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
  const done = first ? send().then(() => received) : received.then(send);
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
const [mode, host, port, size] = process.argv.slice(1);
${exchange.toString()}
const report = (r) => console.log(JSON.stringify(r));
if (mode === 'server') {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    server.close();
    exchange(s, false, Number(size)).then(report);
  });
  server.listen(Number(port), host, () => console.log('READY'));
} else {
  const s = net.connect({ port: Number(port), host, allowHalfOpen: true }, () => exchange(s, true, Number(size)).then(report));
}
setTimeout(() => { console.error('peer: timed out'); process.exit(3); }, 120000).unref();
`;
