/**
 * `shoal serve <echo|http|memcached>`: a Shoal server on a real link (a TAP for now),
 * until Ctrl-C (or SIGTERM), which closes the listener, the connections, the stack and
 * the capture cleanly. With `--shards N` (N > 1) the TAP gets one queue per shard and
 * every shard, a worker thread, serves on its own stack (serve-shard.ts). `--stats`
 * prints, every second, each shard's line and a total.
 *
 * Everything is checked before anything is opened (flags, the http root), and every
 * failure at start-up lets go of what was opened and ends with one line.
 */
import type { ParseArgsConfig } from 'node:util';
import { availableParallelism } from 'node:os';
import { closeSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveHttp } from '../../apps/http/index.js';
import { serveMemcached } from '../../apps/memcached/index.js';
import { serveTcpEcho, serveUdpEcho } from '../../apps/echo.js';
import { TapDevice } from '../../link/tap/device.js';
import { launch } from '../../shard/engine.js';
import { formatIpv4 } from '../../wire/addr.js';
import { integerFlag, UsageError } from '../usage.js';
import { configureKernelSide } from './kernel-side.js';
import { LINK_HELP, LINK_OPTIONS, openWiredHostWithAddress, parseLinkFlags, type LinkFlags } from './link.js';
import type { ServeShardData } from './serve-shard.js';
import { ServeStats } from './serve-stats.js';
import type { ShardHostCounters } from '../../shard/worker-network.js';
import { parseMetricsFlag, startMetricsServer, type MetricsServer } from './metrics-server.js';

type MetricsAt = ReturnType<typeof parseMetricsFlag> | null;

export const SERVE_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  ...LINK_OPTIONS,
  port: { type: 'string' },
  root: { type: 'string' },
  stats: { type: 'boolean' },
  shards: { type: 'string' },
  metrics: { type: 'string' },
};

export const SERVE_HELP = `Usage: shoal serve <echo|http|memcached> --link tap:NAME (--ip A.B.C.D/N | --dhcp) [options]

Serves on a Shoal stack on a real link until Ctrl-C: echo (TCP and UDP, port 7),
http (static files from --root and POST /echo, port 80) or memcached (port 11211).
Shoal also answers ping on that address. For example, as root:

  shoal serve http --link tap:shoal0 --ip 10.0.0.2/24 --kernel-ip 10.0.0.1/24 &
  curl http://10.0.0.2/

Options:
${LINK_HELP}
  --port N         the port (default: 7, 80 or 11211)
  --root DIR       http: the folder to serve (default: a temporary one with an
                   index.html, removed at exit)
  --shards N       worker threads, each a full stack on its own queue of the TAP
                   (default: the number of cores; memcached keeps a cache per shard,
                   each the keys that hash to it, and forwards the others'); with
                   --pcap, one file per shard (FILE with .shardN before its extension)
  --stats          a line a second per shard and a total: frames and rates,
                   forwarded frames, drops, connections by state, retransmissions
  --metrics [HOST:]PORT  Prometheus metrics at http://HOST:PORT/metrics (every counter
                   of every layer, per shard; HOST 127.0.0.1 unless given)
  -h, --help       this text`;

const DEFAULT_PORTS: Record<string, number> = { echo: 7, http: 80, memcached: 11211 };
type App = ServeShardData['app'];

export async function runServe(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const app = positionals[0];
  if (app === undefined || !(app in DEFAULT_PORTS)) throw new UsageError(`serve takes one of echo, http, memcached, got '${app ?? ''}'`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const port = integerFlag('port', values['port'], DEFAULT_PORTS[app]!, 1, 65535);
  const shards = integerFlag('shards', values['shards'], availableParallelism(), 1, 64);
  const flags = parseLinkFlags(values);
  const metricsAt = typeof values['metrics'] === 'string' ? parseMetricsFlag(values['metrics']) : null;
  let root = typeof values['root'] === 'string' ? values['root'] : '';
  if (app === 'http' && root !== '') checkFolder(root);
  if (values['root'] !== undefined && app !== 'http') throw new UsageError('--root is for http');
  // The temporary folder is made last of the checks, and always removed.
  let temp: string | null = null;
  if (app === 'http' && root === '') {
    temp = mkdtempSync(join(tmpdir(), 'shoal-serve-'));
    writeFileSync(join(temp, 'index.html'), '<!doctype html><title>Shoal</title><p>Served by Shoal, a user-space TCP/IP stack.</p>\n');
    root = temp;
  }
  try {
    const stats = values['stats'] === true;
    return shards === 1 ? await serveOnOne(app as App, port, root, values, stats, metricsAt) : await serveOnShards(app as App, port, root, flags, shards, stats, metricsAt);
  } finally {
    if (temp !== null) rmSync(temp, { recursive: true, force: true });
  }
}

function checkFolder(root: string): void {
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    throw new UsageError(`--root ${root}: no such folder`);
  }
  if (!isDir) throw new UsageError(`--root ${root}: not a folder`);
}

function signalled(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/** One stack on this thread (the TAP's one queue). */
async function serveOnOne(app: App, port: number, root: string, values: Record<string, string | boolean | undefined>, withStats: boolean, metricsAt: MetricsAt): Promise<number> {
  const wired = await openWiredHostWithAddress(values);
  const { host } = wired;
  const server = host.net.createServer();
  const listening = new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.listen(port);
  let udp: ReturnType<typeof host.dgram.createSocket> | null = null;
  try {
    await listening;
  } catch (e) {
    await wired.close();
    throw e;
  }
  if (app === 'echo') {
    serveTcpEcho(server);
    udp = host.dgram.createSocket('udp4');
    serveUdpEcho(udp);
    udp.bind(port);
  } else if (app === 'http') {
    serveHttp(server, { root });
  } else {
    serveMemcached(server);
  }
  let metrics: MetricsServer | null = null;
  if (metricsAt !== null) {
    try {
      metrics = await startMetricsServer(metricsAt, () => Promise.resolve([{ shard: 0, queue: 0, layers: { queue: wired.tap.totals(), ...host.stack.counters() } }]));
    } catch (e) {
      udp?.close();
      server.close();
      await wired.close();
      throw e;
    }
  }
  console.log(`shoal serve: ${app} on ${formatIpv4(host.stack.address)}:${port} (${wired.label})${metrics ? `, metrics at ${metrics.url}` : ''}; Ctrl-C stops`);
  const stats = new ServeStats();
  const timer = withStats ? setInterval(() => stats.print([{ shard: 0, queue: wired.tap.totals(), forwarded: 0, shardDrops: 0, stack: host.stack.counters() }]), 1000) : null;
  await signalled();
  if (timer !== null) clearInterval(timer);
  udp?.close();
  server.close();
  await metrics?.close();
  await wired.close();
  console.log('shoal serve: stopped');
  return 0;
}

const DHCP_WAIT_MS = 60_000;

/** Frames lost between shards: over a forwarding limit, a full ring, no frame to copy into, a proxy queue's limit. */
function shardDrops(h: ShardHostCounters): number {
  const d = h.forward.drops;
  return d.inFlight + d.ringFull + d.noFrame + h.steering.proxyDrops;
}

/** N worker shards, each driving its own queue of a multi-queue TAP. */
async function serveOnShards(app: App, port: number, root: string, flags: LinkFlags, shards: number, withStats: boolean, metricsAt: MetricsAt): Promise<number> {
  const queues = TapDevice.openQueues({ name: flags.tapName, queues: shards });
  if (flags.kernelIp !== undefined) {
    try {
      configureKernelSide(queues.name, flags.kernelIp);
    } catch (e) {
      for (const fd of queues.fds) closeSync(fd);
      throw e;
    }
  }
  const state = new SharedArrayBuffer(8);
  const data: ServeShardData = { app, port, root, state };
  // From here the workers own the fds: each closes its own when it ends.
  const engine = await launch(new URL('./serve-shard.js', import.meta.url), {
    shards,
    data,
    // memcached's commands for other shards' keys: room for a whole item (1 MiB) each way.
    rpcBytes: app === 'memcached' ? 4 << 20 : 0,
    network: {
      hosts: [{ name: 'shoal', address: flags.address, gateway: flags.gateway, dhcp: flags.dhcp, pcap: flags.pcap, tap: { queues } }],
    },
  });
  engine.stopOnSignals();
  const address = new Int32Array(state);
  const until = Date.now() + DHCP_WAIT_MS;
  while (Atomics.load(address, 0) === 0) {
    if (Date.now() > until) {
      await engine.stop();
      throw new Error(`no DHCP lease on ${flags.link} within ${DHCP_WAIT_MS / 1000} s (is a DHCP server on the link?)`);
    }
    const r = await Promise.race([engine.done.then(() => 'done'), new Promise((res) => setTimeout(() => res('wait'), 10))]);
    if (r === 'done') break;
  }
  let metrics: MetricsServer | null = null;
  if (metricsAt !== null) {
    try {
      metrics = await startMetricsServer(metricsAt, async () =>
        (await engine.counters()).map((c) => {
          const h = c.hosts[0]!;
          return { shard: c.shard, queue: c.shard, layers: { queue: h.queue, steering: h.steering, forward: h.forward, mesh: c.mesh, pool: { framesInUse: h.poolInUse }, ...h.stack } };
        }),
      );
    } catch (e) {
      await engine.stop();
      throw e;
    }
  }
  const at = Atomics.load(address, 0) >>> 0;
  if (at !== 0) console.log(`shoal serve: ${app} on ${formatIpv4(at)}:${port} (${flags.link} ${flags.address ?? 'DHCP'}, ${shards} shards)${metrics ? `, metrics at ${metrics.url}` : ''}; Ctrl-C stops`);
  const stats = new ServeStats();
  const timer = withStats
    ? setInterval(() => {
        engine
          .counters()
          .then((all) => stats.print(all.map((c) => ({ shard: c.shard, queue: c.hosts[0]!.queue, forwarded: c.hosts[0]!.steering.forwarded, shardDrops: shardDrops(c.hosts[0]!), stack: c.hosts[0]!.stack }))))
          .catch(() => {}); // stopping: no more lines
      }, 1000)
    : null;
  try {
    await engine.done;
  } finally {
    if (timer !== null) clearInterval(timer);
    await metrics?.close();
  }
  console.log('shoal serve: stopped');
  return engine.exitCode;
}
