/**
 * Two connected in-memory Duplex streams, standing in for a socket that is not a net.Socket
 * (as Shoal's will be): what one end writes the other reads, with back pressure (a write's
 * callback waits until the reader has room), and end() on one side ends the other's reading.
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';

class End extends Duplex {
  peer!: End;
  private waiting: (() => void) | null = null;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.peer.push(chunk)) callback();
    else this.peer.waiting = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer.push(null);
    callback();
  }

  override _read(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.destroy();
    callback(error);
  }
}

export function duplexPair(highWaterMark = 16 * 1024): [Duplex, Duplex] {
  const a = new End({ highWaterMark });
  const b = new End({ highWaterMark });
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** A net.Server-like object for the apps: connect() hands the server end to 'connection' listeners. */
export class FakeServer extends EventEmitter {
  connect(): Duplex {
    const [client, server] = duplexPair();
    this.emit('connection', server);
    return client;
  }
}
