/**
 * memcached load: `connections` connections, each with one request in flight; each
 * request is a get (90%) or a set (10%) of a 100-byte value, of a key drawn uniformly
 * from a 10,000-key space. Every reply is parsed and checked: a hit must carry a value
 * that a set of that key wrote (the key's name at its front), a set must be STORED.
 * Payload counted: the values moved (a set's, a hit's). warmCache() fills the key space
 * first, through a session of the server's own memcached, so gets hit from the start.
 */

import type { Net, Socket } from '../../api/net/index.js';
import type { Memcached } from '../../apps/index.js';
import { Random } from '../../util/random.js';
import { encodeGet, encodeSet, ReplyReader, type Reply } from './memcached-client.js';
import { WorkloadStats, type Workload } from './stats.js';

export interface MemcachedLoadOptions {
  net: Net;
  host: string;
  port: number;
  connections: number;
  seed: number;
  /** Size of the key space (default 10,000). */
  keys?: number;
  /** Bytes per value (default 100). */
  valueSize?: number;
  /** Share of sets (default 0.1). */
  setRatio?: number;
}

export const KEYS = 10_000;
export const VALUE_BYTES = 100;

/** A value a set of `key` writes: the key and a number, padded with dots. */
function valueFor(key: string, n: number, size: number): Buffer {
  const v = Buffer.alloc(size, '.');
  v.write(`${key}:${n}`, 0, 'latin1');
  return v;
}

/** Stores every key of the key space in `cache` with sets fed to a session (no network); returns how many were STORED. */
export function warmCache(cache: Memcached, keys = KEYS, valueSize = VALUE_BYTES): number {
  let stored = 0;
  let tail = '';
  const session = cache.openSession({
    write: (bytes) => {
      const lines = (tail + Buffer.from(bytes).toString('latin1')).split('\r\n');
      tail = lines.pop()!;
      for (const line of lines) if (line === 'STORED') stored++;
      return true;
    },
    end: () => {},
  });
  try {
    for (let k = 0; k < keys; k++) session.feed(encodeSet(`key:${k}`, valueFor(`key:${k}`, 0, valueSize)));
  } finally {
    session.close();
  }
  return stored;
}

/** A connection that failed is opened again after this long (ms), while the load runs. */
const RECONNECT_MS = 100;

export class MemcachedLoad implements Workload {
  readonly stats = new WorkloadStats('memcached');
  private readonly keys: number;
  private readonly valueSize: number;
  private readonly setRatio: number;
  private readonly live = new Set<Socket>();
  /** Sockets with a request in flight. */
  private readonly busy = new Set<Socket>();
  private readonly reconnects = new Set<NodeJS.Timeout>();
  private stopping = false;
  private gets = 0;
  private hits = 0;
  private sets = 0;
  private onIdle: (() => void) | null = null;

  constructor(private readonly o: MemcachedLoadOptions) {
    this.keys = o.keys ?? KEYS;
    this.valueSize = o.valueSize ?? VALUE_BYTES;
    this.setRatio = o.setRatio ?? 0.1;
  }

  start(): void {
    this.stats.startedAt = performance.now();
    for (let i = 0; i < this.o.connections; i++) this.open(new Random((this.o.seed * 1_000_003 + i) >>> 0));
  }

  stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.stats.stoppedAt = performance.now();
    for (const t of this.reconnects) clearTimeout(t);
    this.reconnects.clear();
    for (const s of this.live) if (!this.busy.has(s)) s.end();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.stats.cut += this.busy.size;
        for (const s of this.live) s.destroy();
      }, graceMs);
      this.onIdle = () => {
        clearTimeout(timer);
        this.noteHits();
        resolve();
      };
      this.checkIdle();
    });
  }

  private checkIdle(): void {
    if (this.stopping && this.live.size === 0 && this.onIdle !== null) {
      const f = this.onIdle;
      this.onIdle = null;
      f();
    }
  }

  private noteHits(): void {
    const ratio = this.gets > 0 ? ((100 * this.hits) / this.gets).toFixed(1) : '-';
    this.stats.notes.push(`${this.gets} gets (${ratio}% hits), ${this.sets} sets`);
  }

  private open(random: Random): void {
    const stats = this.stats;
    const socket = this.o.net.connect({ port: this.o.port, host: this.o.host, noDelay: true });
    this.live.add(socket);
    const reader = new ReplyReader();
    let key = '';
    let sentAt = 0;
    let failed = false;
    const fail = (message: string): void => {
      if (!failed) stats.error(`memcached: ${message}`);
      failed = true;
      socket.destroy();
    };
    const next = (): void => {
      if (this.stopping) {
        socket.end();
        return;
      }
      key = `key:${random.int(this.keys)}`;
      if (random.chance(this.setRatio)) {
        reader.expect('set', key);
        socket.write(encodeSet(key, valueFor(key, random.nextU32(), this.valueSize)));
      } else {
        reader.expect('get', key);
        socket.write(encodeGet(key));
      }
      this.busy.add(socket);
      sentAt = performance.now();
    };
    const check = (reply: Reply): string | null => {
      if (reply.kind === 'stored') {
        this.sets++;
        return null;
      }
      this.gets++;
      if (reply.kind === 'miss') return null;
      this.hits++;
      if (reply.value.length !== this.valueSize || reply.value.toString('latin1', 0, key.length + 1) !== `${key}:`) {
        return `get ${key}: a value that no set of this key wrote`;
      }
      return null;
    };
    socket.on('connect', next);
    socket.on('data', (chunk: Buffer) => {
      let reply: Reply | null;
      try {
        reply = reader.feed(chunk);
      } catch (err) {
        fail((err as Error).message);
        return;
      }
      if (reply === null) return;
      this.busy.delete(socket);
      const problem = check(reply);
      if (problem !== null) {
        fail(problem);
        return;
      }
      stats.done(sentAt, performance.now(), reply.kind === 'miss' ? 0 : this.valueSize);
      next();
    });
    socket.on('end', () => {
      if (!this.stopping || this.busy.has(socket)) fail('the server ended the connection');
    });
    socket.on('error', (err) => fail(err.message));
    socket.on('close', () => {
      this.live.delete(socket);
      this.busy.delete(socket);
      if (!this.stopping) {
        if (!failed) stats.error('memcached: connection closed');
        const t = setTimeout(() => {
          this.reconnects.delete(t);
          if (!this.stopping) this.open(random);
        }, RECONNECT_MS);
        this.reconnects.add(t);
      }
      this.checkIdle();
    });
  }
}
