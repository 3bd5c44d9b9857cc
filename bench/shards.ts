/**
 * The stack on 1 and on 2 shards (worker threads), side by side in one run: every shard
 * hosts a server stack and a client stack of two hosts on the memory link that spans the
 * shards (shards-app.ts), so N shards do N times the work with nothing crossing between
 * them when the ports are chosen right — both hosts use the symmetric RSS key, and a
 * client's ports steer its flows to its own shard, on both ends. The same run with the
 * client on another key puts half the flows on a server shard other than the client's:
 * their frames cross between shards both ways, which is what forwarding costs.
 *
 * Workloads (fixed totals, split over the shards): connections/s with 16 loops of
 * connect + 32 B request/response, the server closing; 32-byte request/response over 64 connections;
 * bulk, one connection per shard. Each row gives its ratio to one shard; per-shard
 * counters (frames, forwards, proxy drops, connections) and the CPU the process used are
 * printed after each case. Each case runs SHOAL_BENCH_REPS times (default 3), interleaved;
 * the median counts.
 *
 * `node dist/bench/shards.js [conn|rr|bulk|all]`; SHOAL_BENCH_SECONDS sets each window.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { launch } from '../src/shard/engine.js';
import type { ShardCounters } from '../src/shard/engine-messages.js';
import { DEFAULT_RSS_KEY, SYMMETRIC_RSS_KEY } from '../src/wire/toeplitz.js';
import { printTable, type BenchRow } from './harness.js';
import { completedOf, ERRORS, FINISHED, resultsMemory, type ShardsAppData, type Workload } from './shards-app.js';

const SECONDS = Number(process.env['SHOAL_BENCH_SECONDS'] ?? 3);
/** Each case runs this many times, interleaved with the others; the median counts (this 2-core VM is noisy: ±30% run to run). */
const REPS = Number(process.env['SHOAL_BENCH_REPS'] ?? 3);
const app = new URL('./shards-app.js', import.meta.url);

interface CaseResult {
  rate: number;
  counters: ShardCounters[];
  /** CPU seconds the process used per second of the window (all threads: shards, GC helpers, main). */
  cpu: number;
}

/** One workload on `shards` shards; `aligned`: both hosts on the symmetric key (nothing forwarded). */
async function runCase(workload: Workload, shards: number, aligned: boolean): Promise<CaseResult> {
  const results = resultsMemory(shards);
  const total = workload === 'conn' ? 16 : workload === 'rr' ? 64 : shards;
  const ms = SECONDS * 1000;
  const data: ShardsAppData = { workload, conns: Math.ceil(total / shards), warmupMs: Math.min(1000, ms / 3), ms, serverAddress: '10.0.0.1', results };
  const clientKey = aligned ? SYMMETRIC_RSS_KEY : DEFAULT_RSS_KEY;
  const engine = await launch(app, {
    shards,
    data,
    network: {
      hosts: [
        { name: 'server', address: '10.0.0.1/24', device: { rssKey: SYMMETRIC_RSS_KEY } },
        { name: 'client', address: '10.0.0.2/24', device: { rssKey: clientKey } },
      ],
    },
  });
  try {
    const flags = new Int32Array(results, 0, 4);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const deadline = Date.now() + ms + 60_000;
    while (Atomics.load(flags, FINISHED) < shards) {
      if (Date.now() > deadline) throw new Error(`${workload} on ${shards} shards did not finish`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (Atomics.load(flags, ERRORS) > 0) throw new Error(`${workload} on ${shards} shards: ${Atomics.load(flags, ERRORS)} connections failed`);
    let done = 0;
    for (let s = 0; s < shards; s++) done += completedOf(results, s);
    const used = process.cpuUsage(cpu0);
    const cpu = (used.user + used.system) / 1000 / (performance.now() - t0);
    const rate = done / SECONDS;
    return { rate: workload === 'bulk' ? rate / 1e6 : rate, counters: await engine.counters(), cpu };
  } finally {
    await engine.stop();
  }
}

/** The run with the median rate of `REPS` (its counters with it). */
function median(runs: CaseResult[]): CaseResult {
  return [...runs].sort((a, b) => a.rate - b.rate)[runs.length >> 1]!;
}

function printCounters(label: string, r: CaseResult): void {
  console.log(`  ${label}: ${r.rate.toFixed(0)}, CPU ${(r.cpu * 100).toFixed(0)}% of one core`);
  for (const c of r.counters) {
    const parts = c.hosts.map((h) => {
      const fwdDrops = h.forward.drops.inFlight + h.forward.drops.ringFull + h.forward.drops.noFrame;
      const conns = h.stack.tcp.activeOpens + h.stack.tcp.passiveOpens;
      return `${h.host} rx ${h.queue.rxFrames} tx ${h.queue.txFrames} forwarded ${h.steering.forwarded} (copied ${h.forward.copied}, drops ${fwdDrops}) received ${h.forward.received} proxy drops ${h.steering.proxyDrops} conns ${conns}`;
    });
    console.log(`  ${label}, shard ${c.shard}: ${parts.join('; ')}`);
  }
}

const WORKLOADS: Record<Workload, { name: string; unit: string }> = {
  conn: { name: 'connect + 32 B req/resp, server closes, 16 loops', unit: 'conn/s' },
  rr: { name: '32 B request/response, 64 conns', unit: 'trip/s' },
  bulk: { name: 'bulk, 1 conn per shard, one way', unit: 'MB/s' },
};

export async function shardsBenchmarks(which: Workload[] = ['conn', 'rr', 'bulk']): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const group = 'shards (memory link, workers)';
  for (const w of which) {
    const { name, unit } = WORKLOADS[w];
    const runs: CaseResult[][] = [[], [], []];
    for (let k = 0; k < REPS; k++) {
      runs[0]!.push(await runCase(w, 1, true));
      runs[1]!.push(await runCase(w, 2, true));
      runs[2]!.push(await runCase(w, 2, false));
    }
    const [one, two, split] = runs.map(median) as [CaseResult, CaseResult, CaseResult];
    console.log(`${w}: rates of the ${REPS} runs: 1 shard ${runs[0]!.map((r) => r.rate.toFixed(0)).join(', ')}; 2 shards ${runs[1]!.map((r) => r.rate.toFixed(0)).join(', ')}; split ${runs[2]!.map((r) => r.rate.toFixed(0)).join(', ')}`);
    printCounters(`${w}, 1 shard (median)`, one);
    printCounters(`${w}, 2 shards (median)`, two);
    printCounters(`${w}, 2 shards, flows split (median)`, split);
    const ref = { name: '1 shard', value: one.rate };
    rows.push({ group, name: `${name}, 1 shard`, value: one.rate, unit });
    rows.push({ group, name: `${name}, 2 shards`, value: two.rate, unit, reference: ref });
    rows.push({ group, name: `${name}, 2 shards, half the flows forwarded`, value: split.rate, unit, reference: ref });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = process.argv[2] ?? 'all';
  const which = arg === 'all' ? undefined : [arg as Workload];
  if (which !== undefined && !(arg in WORKLOADS)) throw new Error(`shards.js takes conn, rr, bulk or all, not ${arg}`);
  printTable(await shardsBenchmarks(which));
}
