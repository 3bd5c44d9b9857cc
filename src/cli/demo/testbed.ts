/**
 * The demo's network: a MemoryNetwork (one memory switch, one real-time EventLoop) with
 * a server host at 10.0.0.1 running memcached (port 11211) and the http app (port 80),
 * and one load-generator host per workload (10.0.0.2 …), each a full Shoal stack of its
 * own. Faults (loss, delay) go on the load generators' switch ports; the server's
 * frames can be captured to a pcap file (the first PCAP_LIMIT bytes).
 *
 * close() ends everything in order: the servers stop accepting, their remaining
 * connections are closed, the loop stops (its TIME_WAIT timers would keep the process
 * alive) and the hosts go down.
 */

import type { Server as HttpServer } from 'node:http';
import { Host } from '../../api/host.js';
import { MemoryNetwork } from '../../api/network.js';
import type { Server, Socket } from '../../api/net/index.js';
import { serveHttp, serveMemcached, type Memcached } from '../../apps/index.js';
import { CaptureDevice } from '../../link/capture.js';
import { MemoryDevice, type FaultConfig } from '../../link/memory/index.js';
import { PcapWriter } from '../../link/pcap.js';
import type { TcpCounters } from '../../stack/tcp/counters.js';
import { CappedPcapFile } from './capture.js';

export const SERVER_ADDRESS = '10.0.0.1';
export const MEMCACHED_PORT = 11211;
export const HTTP_PORT = 80;
/** Bytes of capture written at most; later frames are counted, not written. */
export const PCAP_LIMIT = 64 * 1024 * 1024;

export interface TestbedOptions {
  seed: number;
  /** Faults of the frames the switch sends to the load generators. */
  faults: FaultConfig;
  /** Folder the http app serves. */
  root: string;
  /** Names of the load-generator hosts, one each. */
  loadHosts: readonly string[];
  pcap: string | null;
}

/** What the devices and the switch counted, added up. */
export interface Traffic {
  /** Frames and bytes the hosts put on the switch (a TSO super-frame counts once, at its size). */
  txFrames: number;
  txBytes: number;
  /** TSO super-frames a receiver took whole (LRO); super-frames cut into segments (by faults, or a receiver without LRO), and the segments. */
  superWhole: number;
  superCut: number;
  superSegments: number;
  /** Lost to the loss fault, and dropped at full rings, empty pools or failed sends. */
  lost: number;
  deviceDrops: number;
}

export class Testbed {
  readonly network: MemoryNetwork;
  readonly server: Host;
  readonly loadHosts: ReadonlyMap<string, Host>;
  readonly capture: CappedPcapFile | null;
  /** The server's memcached (its store and stats). */
  readonly cache: Memcached;
  private readonly writer: PcapWriter | null;
  private readonly devices: MemoryDevice[] = [];
  private readonly listeners: Server[] = [];
  private readonly http: HttpServer;
  /** Connections the servers accepted and still hold. */
  private readonly accepted = new Set<Socket>();

  private constructor(o: TestbedOptions) {
    this.network = new MemoryNetwork({ switch: { seed: o.seed } });
    const clock = this.network.loop.clock;
    // The server is built by hand (not addHost) so its device can be wrapped in a capture.
    const device = new MemoryDevice({ name: 'server', mac: 0x02_00_00_00_00_01 });
    this.network.switch.attach(device);
    for (const q of device.queues) this.network.loop.add(q);
    this.devices.push(device);
    this.capture = o.pcap === null ? null : new CappedPcapFile(o.pcap, PCAP_LIMIT);
    this.writer = this.capture === null ? null : new PcapWriter(this.capture, clock.epochMs);
    this.server = new Host({
      address: `${SERVER_ADDRESS}/24`,
      seed: o.seed,
      device: this.writer === null ? device : new CaptureDevice(device, this.writer, clock),
      loop: this.network.loop,
    });
    const hosts = new Map<string, Host>();
    o.loadHosts.forEach((name, i) => {
      const host = this.network.addHost({
        address: `10.0.0.${i + 2}/24`,
        seed: (o.seed + i + 1) >>> 0,
        device: { name, mac: 0x02_00_00_00_00_00 + i + 2 },
        port: { faults: o.faults },
      });
      hosts.set(name, host);
    });
    this.loadHosts = hosts;
    for (const port of this.network.switch.ports) if (port.device !== device) this.devices.push(port.device);

    const memcached = this.server.net.createServer();
    this.cache = serveMemcached(memcached);
    const http = this.server.net.createServer();
    this.http = serveHttp(http, { root: o.root });
    for (const s of [memcached, http]) {
      s.on('connection', (socket: Socket) => {
        this.accepted.add(socket);
        socket.once('close', () => this.accepted.delete(socket));
      });
      this.listeners.push(s);
    }
  }

  /** A testbed whose servers are listening. */
  static async start(o: TestbedOptions): Promise<Testbed> {
    const t = new Testbed(o);
    try {
      await Promise.all(
        t.listeners.map(
          (s, i) =>
            new Promise<void>((resolve, reject) => {
              s.once('error', reject);
              s.listen(i === 0 ? MEMCACHED_PORT : HTTP_PORT, SERVER_ADDRESS, () => {
                s.off('error', reject);
                resolve();
              });
            }),
        ),
      );
    } catch (err) {
      await t.close(0);
      throw err;
    }
    return t;
  }

  host(name: string): Host {
    const h = this.loadHosts.get(name);
    if (h === undefined) throw new Error(`no load host '${name}'`);
    return h;
  }

  /** The server's TCP counters (connections by state, opens). */
  get serverTcp(): TcpCounters {
    return this.server.stack.tcp.counters;
  }

  /** TCP segments sent again, on every host. */
  retransmits(): number {
    let n = this.server.stack.tcp.counters.retransmittedSegments;
    for (const h of this.loadHosts.values()) n += h.stack.tcp.counters.retransmittedSegments;
    return n;
  }

  traffic(): Traffic {
    const t: Traffic = { txFrames: 0, txBytes: 0, superWhole: 0, superCut: 0, superSegments: 0, lost: 0, deviceDrops: 0 };
    for (const d of this.devices) {
      const q = d.totals();
      t.txFrames += q.txFrames;
      t.txBytes += q.txBytes;
      t.superWhole += d.counters.rxSuperFrames;
      t.superCut += d.counters.tsoFrames;
      t.superSegments += d.counters.tsoSegments;
      t.deviceDrops += q.rxDrops + q.txDrops;
    }
    for (const p of this.network.switch.ports) {
      const c = p.counters;
      t.lost += c.dropped + c.rateDrops + c.mtuDrops + c.limitDrops;
    }
    return t;
  }

  /**
   * Stops the servers, closes what they still hold (after `lingerMs` for the clients'
   * FINs to arrive), stops the loop and takes every host down; closes the capture.
   */
  async close(lingerMs = 1000): Promise<void> {
    try {
      for (const s of this.listeners) if (s.listening) s.close();
      if (this.accepted.size > 0 && lingerMs > 0) {
        await new Promise<void>((resolve) => {
          const poll = setInterval(() => {
            if (this.accepted.size === 0) done();
          }, 10);
          const timer = setTimeout(() => done(), lingerMs);
          const done = (): void => {
            clearInterval(poll);
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const s of this.accepted) s.destroy();
      this.http.closeAllConnections();
    } finally {
      this.network.close();
      this.server.close();
      this.writer?.close();
    }
  }
}
