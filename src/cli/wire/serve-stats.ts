/**
 * `shoal serve --stats`: a line a second per shard and a total, each with what changed
 * in that second (frames and bytes each way, the queue's drops, frames forwarded to
 * other shards and those lost on the way: forwarding limits, proxy queues)
 * beside the running totals, TCP connections by state (TIME_WAIT apart from the live
 * ones) and retransmissions.
 */
import type { QueueStats } from '../../link/device.js';
import type { Stack } from '../../stack/stack.js';

/** One shard's figures for a line. */
export interface ShardSample {
  shard: number;
  queue: QueueStats;
  /** Frames steered from this shard's queue to another shard, and frames lost between shards (forwarding and proxy drops). */
  forwarded: number;
  shardDrops: number;
  stack: ReturnType<Stack['counters']>;
}

interface Figures {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  drops: number;
  forwarded: number;
  shardDrops: number;
  retransmitted: number;
}

function figures(s: ShardSample): Figures {
  const q = s.queue;
  return {
    rxFrames: q.rxFrames,
    rxBytes: q.rxBytes,
    txFrames: q.txFrames,
    txBytes: q.txBytes,
    drops: q.rxDrops + q.txDrops,
    forwarded: s.forwarded,
    shardDrops: s.shardDrops,
    retransmitted: s.stack.tcp.retransmittedSegments,
  };
}

function add(a: Figures, b: Figures): Figures {
  return {
    rxFrames: a.rxFrames + b.rxFrames,
    rxBytes: a.rxBytes + b.rxBytes,
    txFrames: a.txFrames + b.txFrames,
    txBytes: a.txBytes + b.txBytes,
    drops: a.drops + b.drops,
    forwarded: a.forwarded + b.forwarded,
    shardDrops: a.shardDrops + b.shardDrops,
    retransmitted: a.retransmitted + b.retransmitted,
  };
}

const ZERO: Figures = { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, drops: 0, forwarded: 0, shardDrops: 0, retransmitted: 0 };

function rate(n: number, unit: string): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G${unit}`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M${unit}`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k${unit}`;
  return `${n} ${unit}`;
}

export class ServeStats {
  private last = new Map<number | 'total', { f: Figures; at: number }>();

  /** Prints a line per shard (with more than one) and the total. */
  print(samples: ShardSample[], now = Date.now()): void {
    let total = ZERO;
    const states: Record<string, number> = {};
    for (const s of samples) {
      const f = figures(s);
      total = add(total, f);
      for (const [k, v] of Object.entries(s.stack.tcp.states)) states[k] = (states[k] ?? 0) + v;
      if (samples.length > 1) console.log(this.line(`shard ${s.shard}`, s.shard, f, s.stack.tcp.states, now));
    }
    console.log(this.line('total', 'total', total, states, now));
  }

  private line(label: string, key: number | 'total', f: Figures, states: Record<string, number>, now: number): string {
    const prev = this.last.get(key);
    this.last.set(key, { f, at: now });
    const secs = prev === undefined ? 0 : Math.max(0.001, (now - prev.at) / 1000);
    const per = (k: keyof Figures): number => (prev === undefined ? 0 : Math.round((f[k] - prev.f[k]) / secs));
    const live = Object.entries(states)
      .filter(([k, v]) => v > 0 && k !== 'TIME_WAIT' && k !== 'LISTEN' && k !== 'CLOSED')
      .map(([k, v]) => `${v} ${k.toLowerCase().replace('_', '-')}`);
    return (
      `${label}: rx ${f.rxFrames} frames ${f.rxBytes} B, tx ${f.txFrames} frames ${f.txBytes} B` +
      ` (now rx ${rate(per('rxFrames'), 'frames/s')} ${rate(per('rxBytes'), 'B/s')}, tx ${rate(per('txFrames'), 'frames/s')} ${rate(per('txBytes'), 'B/s')})` +
      `; drops ${f.drops} (+${per('drops')}/s); forwarded ${f.forwarded} (+${per('forwarded')}/s), lost between shards ${f.shardDrops} (+${per('shardDrops')}/s)` +
      `; tcp ${live.length > 0 ? live.join(', ') : 'no connections'}, ${states['TIME_WAIT'] ?? 0} time-wait; retransmitted ${f.retransmitted} segments (+${per('retransmitted')}/s)`
    );
  }
}
