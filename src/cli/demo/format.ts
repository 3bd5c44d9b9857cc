/** Number formats of the progress line and the report. */

/** 3 significant digits with k/M/G: 812, 1.93k, 62.1k, 1.20M. */
export function si(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  const [d, s] = a >= 1e9 ? [1e9, 'G'] : a >= 1e6 ? [1e6, 'M'] : a >= 1e3 ? [1e3, 'k'] : [1, ''];
  const v = n / d;
  const digits = s === '' ? 0 : Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(digits)}${s}`;
}

/** A whole number with thousands separators: 1,234,567. */
export function grouped(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Bytes over seconds as Gbit/s, 2 decimals (3 below 0.1). */
export function gbits(bytes: number, seconds: number): string {
  const g = (bytes * 8) / seconds / 1e9;
  return g.toFixed(g < 0.1 ? 3 : 2);
}

/** A latency in ms, 3 significant digits at least to the µs. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** Rows of cells as columns: the first column left-aligned, the others right-aligned. */
export function table(rows: readonly (readonly string[])[], indent = '  '): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()).join('\n');
}
