/**
 * http load through node:http's client on Shoal sockets: `connections` workers, each
 * with one request in flight, over an Agent that keeps `connections` connections alive.
 * The mix: GET of the 16 KiB file (88%), POST /echo of a 64 KiB body (10%, the echo
 * must come back byte for byte) and, now and then (2%), GET of the 1 MiB file. Every
 * body is checked as it streams in. Payload counted: the bodies, both ways.
 *
 * `HttpLoad` takes the agent and the choice of request, so the churn load
 * (churn-load.ts) is the same loop on an agent without keep-alive.
 */

import type { Net } from '../../api/net/index.js';
import { Random } from '../../util/random.js';
import { LARGE_FILE, SMALL_FILE, type Content } from './content.js';
import { exchange, type Exchange } from './http-exchange.js';
import { ShoalAgent } from './shoal-agent.js';
import { WorkloadStats, type Workload } from './stats.js';

/** After a failed request a worker waits this long (ms) before the next, so a dead server is not hammered. */
const ERROR_PAUSE_MS = 10;
/** Bytes of each POST /echo body. */
export const ECHO_BYTES = 64 * 1024;

export interface HttpLoadOptions {
  name: string;
  agent: ShoalAgent;
  host: string;
  port: number;
  /** Workers, each with one request in flight. */
  workers: number;
  seed: number;
  /** The next request of a worker, and its label for the report's counts. */
  pick(random: Random): { label: string; exchange: Exchange };
}

export class HttpLoad implements Workload {
  readonly stats: WorkloadStats;
  private readonly counts = new Map<string, number>();
  private readonly pauses = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private stopping = false;
  private cutting = false;
  private onIdle: (() => void) | null = null;

  constructor(private readonly o: HttpLoadOptions) {
    this.stats = new WorkloadStats(o.name);
  }

  start(): void {
    this.stats.startedAt = performance.now();
    for (let i = 0; i < this.o.workers; i++) this.next(new Random((this.o.seed * 1_000_003 + i) >>> 0));
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.stats.stoppedAt = performance.now();
    for (const t of this.pauses) clearTimeout(t);
    this.pauses.clear();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.cutting = true;
        this.stats.cut += this.inFlight;
        this.onIdle = null;
        resolve();
      }, graceMs);
      this.onIdle = () => {
        clearTimeout(timer);
        this.onIdle = null;
        resolve();
      };
      if (this.inFlight === 0) this.onIdle();
    });
    // Idle keep-alive sockets are closed (FIN); after a cut, the busy ones too.
    this.o.agent.destroy();
    await this.o.agent.allClosed(1000);
    const counts = [...this.counts].map(([label, n]) => `${n} ${label}`).join(', ');
    this.stats.notes.push(`${counts}; ${this.o.agent.opened} connections`);
  }

  private next(random: Random): void {
    const { label, exchange: x } = this.o.pick(random);
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
    this.inFlight++;
    const sentAt = performance.now();
    exchange(this.o.agent, this.o.host, this.o.port, x, (problem, bytes) => {
      this.inFlight--;
      if (this.cutting) return;
      if (problem === null) this.stats.done(sentAt, performance.now(), bytes);
      else this.stats.error(`${this.o.name}: ${problem}`);
      if (this.stopping) {
        if (this.inFlight === 0) this.onIdle?.();
      } else if (problem === null) {
        this.next(random);
      } else {
        const t = setTimeout(() => {
          this.pauses.delete(t);
          if (!this.stopping) this.next(random);
        }, ERROR_PAUSE_MS);
        this.pauses.add(t);
      }
    });
  }
}

/** The keep-alive http load on `net`: the mix above, to the files of `content`. */
export function httpLoad(net: Net, host: string, port: number, connections: number, seed: number, content: Content): HttpLoad {
  const echoBody = Buffer.from(content.large.subarray(0, ECHO_BYTES));
  const small: Exchange = { method: 'GET', path: SMALL_FILE, expected: content.small };
  const large: Exchange = { method: 'GET', path: LARGE_FILE, expected: content.large };
  const echo: Exchange = { method: 'POST', path: '/echo', body: echoBody, expected: echoBody };
  return new HttpLoad({
    name: 'http',
    agent: new ShoalAgent(net, { keepAlive: true, maxSockets: connections, maxFreeSockets: connections }),
    host,
    port,
    workers: connections,
    seed,
    pick(random) {
      const r = random.next();
      if (r < 0.02) return { label: 'GET 1 MiB', exchange: large };
      if (r < 0.12) return { label: 'POST 64 KiB echo', exchange: echo };
      return { label: 'GET 16 KiB', exchange: small };
    },
  });
}
