/**
 * The compatibility harness: a scenario is written once against a World (two hosts,
 * each with a dgram-like module, and their addresses) and run against real node:dgram
 * on 127.0.0.1 and against Shoal (two hosts on a MemoryNetwork, 10.0.0.1 and 10.0.0.2).
 * It records events and results in a Log, normalised so that the two runs compare:
 * host addresses become <host>, port numbers the label of the socket that holds them.
 */

import dgram from 'node:dgram';
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { MemoryNetwork } from '../../src/api/network.js';
import { Dgram } from '../../src/api/dgram/index.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- both node:dgram's overloads and ours must fit */
export interface SocketLike extends EventEmitter {
  bind(...args: any[]): SocketLike;
  connect(...args: any[]): void;
  disconnect(): void;
  send(...args: any[]): void;
  close(callback?: () => void): SocketLike;
  address(): { address: string; family: string; port: number };
  remoteAddress(): { address: string; family: string; port: number };
  setBroadcast(flag: boolean): void;
  setTTL(ttl: number): number;
  getRecvBufferSize(): number;
  getSendBufferSize(): number;
  setRecvBufferSize(size: number): void;
  setSendBufferSize(size: number): void;
  ref(): SocketLike;
  unref(): SocketLike;
}

export interface DgramLike {
  createSocket(type: any, listener?: (msg: Buffer, rinfo: any) => void): SocketLike;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export type Side = 'A' | 'B';

export interface World {
  name: 'node' | 'shoal';
  dgram: Record<Side, DgramLike>;
  host: Record<Side, string>;
  /** The Shoal network (null for node:dgram). */
  network: MemoryNetwork | null;
  close(): void;
}

export function nodeWorld(): World {
  const d: DgramLike = { createSocket: (type, listener) => dgram.createSocket(type, listener) as unknown as SocketLike };
  return { name: 'node', dgram: { A: d, B: d }, host: { A: '127.0.0.1', B: '127.0.0.1' }, network: null, close: () => {} };
}

export function shoalWorld(): World {
  const network = new MemoryNetwork();
  const a = network.addHost();
  const b = network.addHost();
  const wrap = (x: Dgram): DgramLike => ({ createSocket: (type, listener) => x.createSocket(type, listener) as unknown as SocketLike });
  return {
    name: 'shoal',
    dgram: { A: wrap(new Dgram(a.stack)), B: wrap(new Dgram(b.stack)) },
    host: { A: '10.0.0.1', B: '10.0.0.2' },
    network,
    close: () => network.close(),
  };
}

interface Tracked {
  label: string;
  side: Side;
  socket: SocketLike;
}

export interface TrackOptions {
  /** Log 'message' events (default true). */
  messages?: boolean;
}

/** What a datagram's payload looks like in the log: short text as is, the rest by size and digest. */
export function preview(msg: Buffer): string {
  if (msg.length <= 24 && /^[\x20-\x7e]*$/.test(msg.toString('latin1'))) return JSON.stringify(msg.toString('latin1'));
  return `${msg.length} bytes sha1:${createHash('sha1').update(msg).digest('hex').slice(0, 12)}`;
}

export class Log {
  readonly entries: string[] = [];
  private readonly sockets: Tracked[] = [];
  private readonly portLabels = new Map<number, string>();

  constructor(readonly world: World) {}

  add(entry: string): void {
    this.entries.push(entry);
  }

  /** A socket on `side`, its events logged under `label`; its port is learned at 'listening'. */
  socket(label: string, side: Side, type: unknown = 'udp4', options: TrackOptions = {}): SocketLike {
    const s = this.world.dgram[side].createSocket(type);
    this.sockets.push({ label, side, socket: s });
    s.on('listening', () => {
      this.learn(label, s);
      this.add(`${label} listening`);
    });
    if (options.messages !== false) s.on('message', (msg: Buffer, rinfo: { address: string; family: string; port: number; size: number }) => this.add(`${label} message ${preview(msg)} ${this.from(rinfo)} size=${rinfo.size} ${rinfo.family}`));
    s.on('connect', () => this.add(`${label} connect`));
    s.on('error', (e: Error) => this.add(`${label} error ${this.describe(e)}`));
    s.on('close', () => this.add(`${label} close`));
    return s;
  }

  /** Remembers the port `s` holds now as `label`'s. */
  learn(label: string, s: SocketLike): void {
    this.portLabels.set(s.address().port, label);
  }

  port(s: SocketLike): number {
    return s.address().port;
  }

  /** "from a1@its-host": the sender's socket, and whether the address is its host's. */
  private from(rinfo: { address: string; port: number }): string {
    const label = this.portLabels.get(rinfo.port);
    const sender = this.sockets.find((t) => t.label === label);
    const where = sender !== undefined && rinfo.address === this.world.host[sender.side] ? 'its-host' : this.norm(rinfo.address);
    return `from ${label ?? '<unknown port>'}@${where}`;
  }

  /** Host addresses become <host>, known ports their socket's label. */
  norm(text: string): string {
    let out = text;
    for (const h of new Set(Object.values(this.world.host))) out = out.replace(new RegExp(`(?<![\\d.])${h.replace(/\./g, '\\.')}(?![\\d])`, 'g'), '<host>');
    return out.replace(/:(\d+)\b/g, (m, p: string) => {
      const label = this.portLabels.get(Number(p));
      return label !== undefined ? `:<${label}>` : m;
    });
  }

  private normValue(v: unknown): string {
    if (v !== null && typeof v === 'object' && 'port' in v && 'address' in v) {
      const o = v as { address: string; family: string; port: number };
      return `{${this.norm(o.address)} ${o.family} port=${this.portName(o.port)}}`;
    }
    return JSON.stringify(v) ?? 'undefined';
  }

  private portName(port: number): string {
    if (port === 0) return '0';
    return `<${this.portLabels.get(port) ?? 'other'}>`;
  }

  describe(e: unknown): string {
    if (!(e instanceof Error)) return `non-error ${String(e)}`;
    const x = e as Error & { code?: string; errno?: number; syscall?: string; address?: string; port?: number };
    const parts = [x.name, x.code ?? '-'];
    if (x.errno !== undefined) parts.push(`errno=${x.errno}`);
    if (x.syscall !== undefined) parts.push(`syscall=${x.syscall}`);
    if (x.address !== undefined) parts.push(`address=${this.norm(String(x.address))}`);
    if (x.port !== undefined) parts.push(`port=${this.portName(x.port)}`);
    parts.push(JSON.stringify(this.norm(x.message)));
    return parts.join(' ');
  }

  /** Runs `f`, logging what it returned or threw. */
  attempt(label: string, what: string, f: () => unknown): void {
    try {
      this.add(`${label} ${what} -> ${this.normValue(f())}`);
    } catch (e) {
      this.add(`${label} ${what} -> throws ${this.describe(e)}`);
    }
  }

  /** A send callback that logs (error, bytes). */
  sendCallback(label: string, what = 'send-cb'): (error: Error | null, bytes?: number) => void {
    return (error, bytes) => this.add(`${label} ${what} ${error ? this.describe(error) : 'ok'} bytes=${bytes}`);
  }

  /** Resolves when an entry starting with `prefix` is in the log; throws after `ms` with the log. */
  async until(prefix: string, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.entries.some((e) => e.startsWith(prefix))) {
      if (Date.now() > deadline) throw new Error(`${this.world.name}: no "${prefix}" within ${ms} ms; log:\n${this.entries.join('\n')}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Closes what the scenario left open, without logging it. */
  dispose(): void {
    for (const t of this.sockets) {
      t.socket.removeAllListeners();
      t.socket.on('error', () => {});
      try {
        t.socket.close();
      } catch {
        // closed already
      }
    }
  }
}

/** Lets `ms` pass (to show that something does not happen). */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export type Scenario = (log: Log, world: World) => Promise<void>;

/** Runs `scenario` in `world` and returns its log; `check` looks at the world before it is closed, whatever happens. */
export async function run(world: World, scenario: Scenario, check?: (world: World) => void): Promise<string[]> {
  const log = new Log(world);
  try {
    await scenario(log, world);
    // Events still due (a close's 'close') land before the log is read.
    await pause(20);
    check?.(world);
    return log.entries.slice();
  } finally {
    log.dispose();
    world.close();
  }
}
