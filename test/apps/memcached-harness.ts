/** A memcached session driven by hand: bytes in, reply text out, on a virtual clock. */
import { VirtualClock } from '../../src/time/clock.js';
import { Memcached, type MemcachedOptions } from '../../src/apps/memcached/memcached.js';
import type { MemcachedSession } from '../../src/apps/memcached/session.js';

/** 2026-01-01T00:00:00Z, the VirtualClock's default epoch, in Unix seconds. */
export const EPOCH_S = Date.UTC(2026, 0, 1) / 1000;

export class Client {
  readonly out: Buffer[] = [];
  ended = false;
  /** write() answers this (false: the peer is slow). */
  accept = true;
  readonly session: MemcachedSession;

  constructor(readonly cache: Memcached) {
    this.session = cache.openSession({
      write: (b) => {
        this.out.push(Buffer.from(b));
        return this.accept;
      },
      end: () => {
        this.ended = true;
      },
    });
  }

  /** Feeds `input` (latin1 text or bytes) in one chunk; returns what came out since the last call. */
  send(input: string | Uint8Array): string {
    this.session.feed(typeof input === 'string' ? Buffer.from(input, 'latin1') : input);
    return this.take();
  }

  take(): string {
    const s = Buffer.concat(this.out).toString('latin1');
    this.out.length = 0;
    return s;
  }
}

export function newCache(options: MemcachedOptions = {}): { cache: Memcached; clock: VirtualClock; client: Client } {
  const clock = new VirtualClock();
  const cache = new Memcached({ clock, ...options });
  return { cache, clock, client: new Client(cache) };
}

/** The value of one `STAT name value` line. */
export function stat(reply: string, name: string): string | undefined {
  const m = new RegExp(`^STAT ${name} (.*)\r$`, 'm').exec(reply);
  return m?.[1];
}
