/**
 * The live progress line: elapsed time, requests/s of each workload, Gbit/s through the
 * switch, the server's open connections (and TIME_WAIT) and new TCP connections/s.
 * Sampled every 500 ms; on a terminal one line is rewritten in place (`\r`), otherwise
 * (a log, a pipe, a test) a plain line is printed once a second, its rates over that second.
 */

import { gbits, si } from './format.js';

export interface Sample {
  /** performance.now() of the sample. */
  at: number;
  /** Completed requests so far, per workload (in the order of `names`). */
  requests: number[];
  /** Bytes the hosts put on the switch so far. */
  switchBytes: number;
  /** The server's connections: open (not TIME_WAIT), in TIME_WAIT, and accepted so far. */
  open: number;
  timeWait: number;
  accepted: number;
}

export interface ProgressOutput {
  isTTY?: boolean;
  write(text: string): unknown;
}

export const PROGRESS_INTERVAL_MS = 500;

export class Progress {
  private timer: NodeJS.Timeout | null = null;
  private last: Sample;
  private ticks = 0;
  private drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly names: readonly string[],
    private readonly sample: () => Sample,
    private readonly startedAt: number,
  ) {
    this.last = sample();
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), PROGRESS_INTERVAL_MS);
  }

  /** Stops; on a terminal, ends the rewritten line. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.out.isTTY && this.drawn) this.out.write('\n');
    this.drawn = false;
  }

  private tick(): void {
    this.ticks++;
    const tty = Boolean(this.out.isTTY);
    if (!tty && this.ticks % 2 !== 0) return;
    const now = this.sample();
    const line = formatLine(this.names, this.last, now, this.startedAt);
    this.last = now;
    if (tty) {
      this.out.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else {
      this.out.write(`${line}\n`);
    }
  }
}

/** The progress line for the interval from `a` to `b`. */
export function formatLine(names: readonly string[], a: Sample, b: Sample, startedAt: number): string {
  const dt = Math.max(1e-3, (b.at - a.at) / 1000);
  const rates = names.map((n, i) => `${n} ${si((b.requests[i]! - a.requests[i]!) / dt)}/s`).join('  ');
  const elapsed = ((b.at - startedAt) / 1000).toFixed(1).padStart(5);
  return (
    `${elapsed} s  ${rates}  |  ${gbits(b.switchBytes - a.switchBytes, dt)} Gbit/s  |  ` +
    `conns ${b.open} open, ${si(b.timeWait)} TIME_WAIT, ${si((b.accepted - a.accepted) / dt)} new/s`
  );
}
