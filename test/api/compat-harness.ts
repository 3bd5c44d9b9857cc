/**
 * Runs one scenario twice: against node:net over 127.0.0.1 and against Shoal (two
 * hosts on a MemoryNetwork, a Net on each), recording what each endpoint sees, so a
 * test can assert that Shoal's record equals Node's.
 *
 * Records are per endpoint ('client', 'server', ...): Node orders the events of one
 * socket, not the interleaving of two (that is the scheduler's). Addresses and ports
 * differ between the runs (127.0.0.1 vs 10.0.0.x), so messages are recorded with
 * `<host>` and `<port>` in their place.
 */
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import * as nodeNet from 'node:net';
import type { Duplex } from 'node:stream';
import { MemoryNetwork } from '../../src/api/network.js';
import { Net } from '../../src/api/net/index.js';
import { Random } from '../../src/util/random.js';

/** What both node:net's and Shoal's sockets offer (the part the scenarios use). */
export interface SocketLike extends Duplex {
  readonly connecting: boolean;
  readonly pending: boolean;
  readonly readyState: string;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly timeout?: number | undefined;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly remoteFamily?: string | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  address(): object;
  setTimeout(timeout: number, callback?: () => void): this;
  setNoDelay(noDelay?: boolean): this;
  setKeepAlive(enable?: boolean, initialDelay?: number): this;
  resetAndDestroy(): this;
  destroySoon(): void;
}

export interface ServerLike extends EventEmitter {
  listen(port: number, host: string, cb?: () => void): this;
  close(cb?: (err?: Error) => void): this;
  address(): object | string | null;
  readonly listening: boolean;
  maxConnections: number | undefined;
  getConnections(cb: (err: Error | null, count: number) => void): unknown;
}

export interface ServerOpts {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
  highWaterMark?: number;
}

export interface ConnectOpts {
  port: number;
  host: string;
  allowHalfOpen?: boolean;
  timeout?: number;
  localPort?: number;
  highWaterMark?: number;
}

export interface NetApi {
  createServer(options: ServerOpts, listener?: (s: SocketLike) => void): ServerLike;
  connect(options: ConnectOpts, cb?: () => void): SocketLike;
}

export interface CompatEnv {
  readonly name: 'node:net' | 'shoal';
  /** Connects from the client host. */
  readonly client: NetApi;
  /** Listens on the server host. */
  readonly server: NetApi;
  /** The server host's address (listen and connect here). */
  readonly host: string;
  /** The client host's address. */
  readonly clientHost: string;
  /** Destroys every socket and closes every server left, then the network. */
  close(): void;
}

/** Keeps what a run made, so that a failed scenario leaves nothing open behind it. */
class Tracker {
  readonly sockets = new Set<SocketLike>();
  readonly servers = new Set<ServerLike>();

  wrap(api: NetApi): NetApi {
    return {
      createServer: (options, listener) => {
        const s = api.createServer(options, listener);
        s.on('connection', (c: SocketLike) => this.sockets.add(c));
        this.servers.add(s);
        return s;
      },
      connect: (options, cb) => {
        const c = api.connect(options, cb);
        this.sockets.add(c);
        return c;
      },
    };
  }

  closeAll(): void {
    for (const s of this.sockets) s.destroy();
    for (const s of this.servers) if (s.listening) s.close();
  }
}

export function nodeEnv(): CompatEnv {
  const api: NetApi = {
    createServer: (options, listener) => nodeNet.createServer(options, listener),
    connect: (options, cb) => nodeNet.connect(options, cb),
  };
  const t = new Tracker();
  const wrapped = t.wrap(api);
  return { name: 'node:net', client: wrapped, server: wrapped, host: '127.0.0.1', clientHost: '127.0.0.1', close: () => t.closeAll() };
}

export function shoalEnv(): CompatEnv {
  const network = new MemoryNetwork();
  const a = network.addHost();
  const b = network.addHost();
  const t = new Tracker();
  const netA = new Net(a.stack);
  const netB = new Net(b.stack);
  const api = (n: Net): NetApi => ({
    createServer: (options, listener) => n.createServer(options, listener),
    connect: (options, cb) => n.connect(options, cb),
  });
  return {
    name: 'shoal',
    client: t.wrap(api(netA)),
    server: t.wrap(api(netB)),
    host: '10.0.0.2',
    clientHost: '10.0.0.1',
    close: () => {
      try {
        t.closeAll();
      } finally {
        network.close();
      }
    },
  };
}

export type Lines = Record<string, string[]>;

/** What endpoints saw, normalised for comparison across the two runs. */
export class Log {
  readonly lines: Lines = {};
  private readonly ports = new Set<number>();

  constructor(readonly env: CompatEnv) {}

  add(role: string, line: string): void {
    (this.lines[role] ??= []).push(line);
  }

  /** Port numbers to show as `<port>` in messages. */
  port(p: number): number {
    this.ports.add(p);
    return p;
  }

  normalize(text: string): string {
    let s = text.split(this.env.host).join('<host>');
    for (const p of this.ports) s = s.split(`:${p}`).join(':<port>');
    return s;
  }

  describeError(e: unknown): string {
    const x = e as { code?: unknown; syscall?: unknown; message?: unknown };
    const parts = ['error', String(x.code)];
    if (x.syscall !== undefined) parts.push(String(x.syscall));
    parts.push(this.normalize(String(x.message)));
    return parts.join(' ');
  }

  /**
   * Records a socket's events: connect, ready, timeout, finish, error, close(hadError),
   * and 'end' with what was received (text up to 64 bytes, else a byte count, or what
   * `summary` makes of it). With `data: false` no 'data' listener is added.
   */
  watch(role: string, s: SocketLike, opts: { data?: boolean; summary?: (received: Buffer) => string } = {}): { received: () => Buffer } {
    const chunks: Buffer[] = [];
    if (opts.data !== false) s.on('data', (d: Buffer) => chunks.push(d));
    for (const ev of ['connect', 'ready', 'timeout', 'finish'] as const) s.on(ev, () => this.add(role, ev));
    s.on('end', () => {
      const all = Buffer.concat(chunks);
      const what = opts.summary ? opts.summary(all) : all.length <= 64 ? JSON.stringify(all.toString()) : `${all.length} bytes`;
      this.add(role, opts.data === false ? 'end' : `end ${what}`);
    });
    s.on('error', (e: unknown) => this.add(role, this.describeError(e)));
    s.on('close', (hadError: unknown) => this.add(role, `close hadError=${String(hadError)}`));
    return { received: () => Buffer.concat(chunks) };
  }
}

/** Runs `scenario` against node:net and then against Shoal; returns both records. */
export async function runBoth(scenario: (env: CompatEnv, log: Log) => Promise<void>, timeoutMs = 20_000): Promise<{ node: Lines; shoal: Lines }> {
  const node = await runIn(nodeEnv(), scenario, timeoutMs);
  const shoal = await runIn(shoalEnv(), scenario, timeoutMs);
  return { node, shoal };
}

async function runIn(env: CompatEnv, scenario: (env: CompatEnv, log: Log) => Promise<void>, timeoutMs: number): Promise<Lines> {
  const log = new Log(env);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${env.name}: the scenario did not finish in ${timeoutMs} ms; seen so far: ${JSON.stringify(log.lines)}`)), timeoutMs);
  });
  try {
    await Promise.race([scenario(env, log), timeout]);
  } catch (e) {
    if (e instanceof Error) e.message = `[${env.name}] ${e.message}`;
    throw e;
  } finally {
    clearTimeout(timer);
    env.close();
  }
  return log.lines;
}

// ---------------------------------------------------------------- small helpers

/** Listens on the env's host, on an ephemeral port; resolves with the port. */
export function listen(env: CompatEnv, server: ServerLike, log?: Log): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, env.host, () => {
      server.off('error', reject);
      const a = server.address() as { port: number };
      resolve(log ? log.port(a.port) : a.port);
    });
  });
}

export function once<T = unknown>(e: EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => e.once(event, (v: T) => resolve(v)));
}

export function closed(e: EventEmitter): Promise<void> {
  return new Promise((resolve) => e.once('close', () => resolve()));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function immediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `n` bytes from a seeded generator (the same seed, the same bytes). */
export function seededBytes(n: number, seed: number): Buffer {
  const r = new Random(seed);
  const b = Buffer.allocUnsafe(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) b.writeUInt32LE(r.nextU32(), i);
  for (; i < n; i++) b[i] = r.nextU32() & 0xff;
  return b;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
