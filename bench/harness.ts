/**
 * A small benchmark harness: each case runs for a fixed wall time after a warm-up and
 * reports a rate. Cases are paired with a reference measured in the same run, so the
 * table shows ratios, which hold across machines better than absolute figures.
 */
import { performance } from 'node:perf_hooks';

export interface BenchRow {
  group: string;
  name: string;
  value: number;
  unit: string;
  reference?: { name: string; value: number };
}

/** Runs `op` (which does `opsPerCall` operations) repeatedly for about `ms` and returns operations per second. */
export function rate(op: () => void, opsPerCall = 1, ms = 400): number {
  const warm = performance.now() + ms / 4;
  while (performance.now() < warm) op();
  let calls = 0;
  const start = performance.now();
  let now = start;
  const end = start + ms;
  while (now < end) {
    for (let i = 0; i < 16; i++) op();
    calls += 16;
    now = performance.now();
  }
  return (calls * opsPerCall) / ((now - start) / 1000);
}

export function formatValue(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(2);
}

export function printTable(rows: BenchRow[]): void {
  const lines: string[][] = [['benchmark', 'shoal', 'unit', 'reference', 'ratio']];
  for (const r of rows) {
    lines.push([
      `${r.group}: ${r.name}`,
      formatValue(r.value),
      r.unit,
      r.reference ? `${formatValue(r.reference.value)} (${r.reference.name})` : '—',
      r.reference ? `${(r.value / r.reference.value).toFixed(2)}×` : '—',
    ]);
  }
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  for (const [i, l] of lines.entries()) {
    console.log(l.map((cell, c) => (c === 0 || c === 2 || c === 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}
