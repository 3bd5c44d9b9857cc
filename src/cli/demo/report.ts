/**
 * The demo's final report: a table of each workload's requests, requests/s, payload
 * Gbit/s and latency percentiles (from its histogram) and errors; what each workload
 * noted; the switch's and devices' frame counts; and whether the run passed (every
 * workload completed requests, none had an error).
 */

import type { CappedPcapFile } from './capture.js';
import { gbits, grouped, ms, table } from './format.js';
import type { WorkloadStats } from './stats.js';
import type { Traffic } from './testbed.js';

export interface ReportInput {
  workloads: readonly WorkloadStats[];
  traffic: Traffic;
  hosts: number;
  accepted: number;
  retransmits: number;
  capture: CappedPcapFile | null;
  /** performance.now() at which the report is made. */
  now: number;
}

export function formatReport(r: ReportInput): string {
  const rows: string[][] = [['workload', 'requests', 'req/s', 'payload Gbit/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors']];
  for (const w of r.workloads) {
    const s = w.seconds(r.now);
    const h = w.latency;
    rows.push([w.name, grouped(w.requests), grouped(w.requests / s), gbits(w.payloadBytes, s), ms(h.percentile(50)), ms(h.percentile(99)), ms(h.percentile(99.9)), grouped(w.errors)]);
  }
  const lines = [table(rows), ''];
  for (const w of r.workloads) {
    const notes = [...w.notes];
    if (w.cut > 0) notes.push(`${w.cut} requests under way at the end were cut after the grace period`);
    if (notes.length > 0) lines.push(`  ${w.name}: ${notes.join('; ')}`);
    for (const e of w.errorSamples) lines.push(`  ${w.name} error: ${e}`);
  }
  const t = r.traffic;
  const supers = [
    t.superWhole > 0 ? `${grouped(t.superWhole)} TSO super-frames taken whole by LRO` : '',
    t.superCut > 0 ? `${grouped(t.superCut)} cut into ${grouped(t.superSegments)} segments` : '',
  ].filter(Boolean);
  lines.push(
    `  switch: ${grouped(t.txFrames)} frames sent by ${r.hosts} hosts, ${(t.txBytes / 1e9).toFixed(2)} GB${supers.length ? ` (${supers.join(', ')})` : ''}; ` +
      `${grouped(t.lost + t.deviceDrops)} dropped (${grouped(t.lost)} by the faults, ${grouped(t.deviceDrops)} at rings, pools or sends)`,
  );
  lines.push(`  tcp: ${grouped(r.accepted)} connections accepted by the server, ${grouped(r.retransmits)} segments retransmitted`);
  const c = r.capture;
  if (c !== null) {
    const later = c.skipped > 0 ? `; the ${grouped(c.skipped)} frames after the first ${(c.limit / 1048576).toFixed(0)} MiB were not written` : '';
    lines.push(`  capture of the server's frames: ${c.path} (${grouped(c.records)} frames, ${(c.bytes / 1048576).toFixed(1)} MiB${later})`);
  }
  return lines.join('\n');
}

/** Why the run failed, or null when every workload completed requests without an error. */
export function failure(workloads: readonly WorkloadStats[]): string | null {
  const problems: string[] = [];
  for (const w of workloads) {
    if (w.errors > 0) problems.push(`${w.name} had ${w.errors} error${w.errors === 1 ? '' : 's'}`);
    else if (w.requests === 0) problems.push(`${w.name} completed no request`);
  }
  return problems.length === 0 ? null : problems.join(', ');
}
