/**
 * `shoal demo`: a server and load generators, each a Shoal TCP/IP stack, on one
 * in-process memory switch in real time. The server runs memcached and the http app;
 * three load generators drive them (memcached gets/sets, http with keep-alive, and
 * connection churn) for `--duration` seconds with a live progress line, then everything
 * is closed and a table of requests/s, Gbit/s, latency percentiles and errors is printed.
 * Exit code 0 when every workload completed requests without an error, 1 otherwise.
 */

import type { ParseArgsConfig } from 'node:util';
import { integerFlag, numberFlag, UsageError } from '../usage.js';
import { churnLoad } from './churn-load.js';
import { createContent } from './content.js';
import { httpLoad } from './http-load.js';
import { MemcachedLoad, warmCache, KEYS } from './memcached-load.js';
import { Progress, type ProgressOutput, type Sample } from './progress.js';
import { failure, formatReport } from './report.js';
import type { Workload } from './stats.js';
import { HTTP_PORT, MEMCACHED_PORT, PCAP_LIMIT, SERVER_ADDRESS, Testbed } from './testbed.js';

export const DEMO_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  duration: { type: 'string' },
  connections: { type: 'string' },
  seed: { type: 'string' },
  loss: { type: 'string' },
  delay: { type: 'string' },
  pcap: { type: 'string' },
};

export const DEMO_HELP = `Usage: shoal demo [options]

Servers and clients on Shoal TCP/IP stacks, all in this process: four hosts on an
in-process memory switch (no privileges, no traffic leaves the process). The server
host (10.0.0.1) runs memcached (port 11211) and an http server (node:http on Shoal
sockets, port 80) serving a temporary folder. Three load-generator hosts drive it:

  memcached  N connections, one request in flight each: 90% get, 10% set of 100-byte
             values over 10,000 keys (all stored before the load starts); every
             reply parsed and checked
  http       node:http with N keep-alive connections: GET of a 16 KiB file, now and
             then of a 1 MiB file, and POST /echo of 64 KiB; every body checked
  churn      node:http without keep-alive: a new TCP connection for each request
             (GET /), from N/4 workers (at least 1)

A progress line shows requests/s, Gbit/s through the switch and connections. After
--duration seconds the load stops, everything is closed, and a table gives each
workload's requests, requests/s, payload Gbit/s, latency p50/p99/p99.9 and errors.
Exit code 0 when every workload completed requests without an error, else 1.

Options:
  --duration S     seconds of load (default 10)
  --connections N  connections (workers) per workload (default 16)
  --seed N         seed of keys, request mixes, file contents and faults (default 1)
  --loss P         probability a frame to a load generator is lost (default 0)
  --delay MS       one-way delay of frames to the load generators (default 0)
  --pcap FILE      capture the server's frames to FILE (the first ${PCAP_LIMIT / 1048576} MiB of them)
  -h, --help       this text`;

export interface DemoOptions {
  durationMs: number;
  connections: number;
  seed: number;
  loss: number;
  delay: number;
  pcap: string | null;
}

export function parseDemoOptions(values: Record<string, string | boolean | undefined>, positionals: string[]): DemoOptions {
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const pcap = values['pcap'];
  if (pcap === '') throw new UsageError('--pcap takes a file name');
  return {
    durationMs: numberFlag('duration', values['duration'], 10, 0.1, 86_400) * 1000,
    connections: integerFlag('connections', values['connections'], 16, 1, 1024),
    seed: integerFlag('seed', values['seed'], 1, 0, 0xffff_ffff),
    loss: numberFlag('loss', values['loss'], 0, 0, 0.5),
    delay: numberFlag('delay', values['delay'], 0, 0, 1000),
    pcap: typeof pcap === 'string' ? pcap : null,
  };
}

export async function runDemo(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  return run(parseDemoOptions(values, positionals), process.stdout);
}

const LOADS = ['memcached', 'http', 'churn'] as const;

/** Resolves after `ms`, or at the first SIGINT/SIGTERM (the run then ends early, cleanly). */
function loadTime(ms: number, out: ProgressOutput): Promise<void> {
  return new Promise((resolve) => {
    const end = (): void => {
      clearTimeout(timer);
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      resolve();
    };
    const interrupted = (): void => {
      out.write('\n(interrupted: stopping the load)\n');
      end();
    };
    const timer = setTimeout(end, ms);
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
  });
}

export async function run(o: DemoOptions, out: ProgressOutput): Promise<number> {
  const content = createContent(o.seed);
  let testbed: Testbed | null = null;
  let progress: Progress | null = null;
  let closed = false;
  try {
    testbed = await Testbed.start({
      seed: o.seed,
      faults: { loss: o.loss, delay: o.delay },
      root: content.root,
      loadHosts: LOADS,
      pcap: o.pcap,
    });
    const tb = testbed;
    const warmed = warmCache(tb.cache);
    if (warmed !== KEYS) throw new Error(`memcached stored ${warmed} of the ${KEYS} keys while warming`);
    const workloads: Workload[] = [
      new MemcachedLoad({ net: tb.host('memcached').net, host: SERVER_ADDRESS, port: MEMCACHED_PORT, connections: o.connections, seed: o.seed }),
      httpLoad(tb.host('http').net, SERVER_ADDRESS, HTTP_PORT, o.connections, o.seed, content),
      churnLoad(tb.host('churn').net, SERVER_ADDRESS, HTTP_PORT, Math.max(1, Math.floor(o.connections / 4)), o.seed, content),
    ];
    const faults = o.loss > 0 || o.delay > 0 ? `; frames to the load generators: loss ${o.loss}, delay ${o.delay} ms` : '';
    out.write(
      `shoal demo: memcached and http on a Shoal stack (${SERVER_ADDRESS}), driven by ${LOADS.length} load-generator stacks ` +
        `on an in-process memory switch: ${o.durationMs / 1000} s, ${o.connections} connections per workload, seed ${o.seed}${faults}\n\n`,
    );
    const sample = (): Sample => {
      const tcp = tb.serverTcp;
      const timeWait = tcp.states.TIME_WAIT;
      return {
        at: performance.now(),
        requests: workloads.map((w) => w.stats.requests),
        switchBytes: tb.traffic().txBytes,
        open: tb.server.stack.tcp.connections - timeWait,
        timeWait,
        accepted: tcp.passiveOpens,
      };
    };
    const startedAt = performance.now();
    for (const w of workloads) w.start();
    progress = new Progress(out, LOADS, sample, startedAt);
    progress.start();
    await loadTime(o.durationMs, out);
    progress.stop();
    await Promise.all(workloads.map((w) => w.stop(2000 + 20 * o.delay)));
    closed = true;
    await tb.close();
    const stats = workloads.map((w) => w.stats);
    out.write(
      `\n${formatReport({
        workloads: stats,
        traffic: tb.traffic(),
        hosts: 1 + LOADS.length,
        accepted: tb.serverTcp.passiveOpens,
        retransmits: tb.retransmits(),
        capture: tb.capture,
        now: performance.now(),
      })}\n`,
    );
    const failed = failure(stats);
    if (failed === null) return 0;
    console.error(`shoal demo: FAILED: ${failed}`);
    return 1;
  } finally {
    progress?.stop();
    if (testbed !== null && !closed) await testbed.close(0);
    content.remove();
  }
}
