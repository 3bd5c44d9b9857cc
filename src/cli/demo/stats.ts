/**
 * What one workload of the demo counts: completed requests, payload bytes (values and
 * bodies, both ways), errors with the first few messages, and latencies in a bounded
 * histogram (never a list per request).
 */

import { Histogram } from '../../util/histogram.js';

/** Distinct error messages kept for the report. */
const MAX_ERROR_SAMPLES = 4;

export class WorkloadStats {
  requests = 0;
  payloadBytes = 0;
  errors = 0;
  /** Requests still under way when the load stopped and cut after the grace period. */
  cut = 0;
  readonly errorSamples: string[] = [];
  /** Latency of each completed request in ms: 1 µs units, up to 1 minute. */
  readonly latency = new Histogram({ unit: 0.001, highest: 60_000 });
  /** Workload-specific facts for the report ("get hits 97.2%"). */
  readonly notes: string[] = [];
  /** When the load started, was told to stop, and last completed a request (performance.now()). */
  startedAt = 0;
  stoppedAt = 0;
  lastDoneAt = 0;

  constructor(readonly name: string) {}

  /** A request sent at `sentAt` completed at `now` and passed its checks. */
  done(sentAt: number, now: number, payloadBytes: number): void {
    this.requests++;
    this.payloadBytes += payloadBytes;
    this.lastDoneAt = now;
    this.latency.record(Math.max(0, now - sentAt));
  }

  error(message: string): void {
    this.errors++;
    if (this.errorSamples.length < MAX_ERROR_SAMPLES && !this.errorSamples.includes(message)) this.errorSamples.push(message);
  }

  /** Seconds the load has run: until now, or once stopped until the last request under way then finished. */
  seconds(now: number): number {
    const end = this.stoppedAt > 0 ? Math.max(this.stoppedAt, this.lastDoneAt) : now;
    return Math.max(1e-3, (end - this.startedAt) / 1000);
  }
}

/** A load generator: starts issuing requests, and stops (finishing or cutting what is under way). */
export interface Workload {
  readonly stats: WorkloadStats;
  start(): void;
  /** Stops issuing requests; resolves once every connection of the load is closed. */
  stop(graceMs: number): Promise<void>;
}
