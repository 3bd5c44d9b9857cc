/**
 * A histogram of non-negative values in log-linear buckets, as HdrHistogram lays them
 * out: values are counted in integer units (`unit`, e.g. 0.001 for microseconds when
 * values are milliseconds); below 2^precisionBits units each unit has its own bucket
 * (exact), above it each power of two is cut into 2^(precisionBits-1) equal buckets, so
 * a bucket is never wider than 2^-(precisionBits-1) of the values in it (precisionBits
 * 8, the default: 0.8%). The counts live in one typed array sized by `highest` at
 * construction: memory does not grow with what is recorded (1 hour in µs: 3,287 buckets,
 * 26 KiB).
 * Values above `highest` are counted in the top bucket (and in `clamped`).
 *
 *   const h = new Histogram({ unit: 0.001, highest: 60_000 });   // ms, 1 µs .. 1 min
 *   h.record(0.25);
 *   h.percentile(99);   // within ~1% of the exact 99th percentile
 */

export interface HistogramOptions {
  /** The value of one unit: values are counted as floor(value / unit) (default 1). */
  unit?: number;
  /** The largest value told apart (in values, not units; default 2^32 units). */
  highest?: number;
  /** Buckets per power of two are 2^(precisionBits-1) (default 8: ≤ 0.8% apart; 1 to 16). */
  precisionBits?: number;
}

export class Histogram {
  readonly unit: number;
  readonly highest: number;
  readonly precisionBits: number;
  /** Values recorded. */
  count = 0;
  /** Values above `highest`, counted in the top bucket. */
  clamped = 0;
  private readonly counts: Float64Array;
  /** 2^precisionBits: below this many units, buckets are one unit wide. */
  private readonly linear: number;
  private readonly half: number;
  private readonly topUnits: number;
  private minValue = Infinity;
  private maxValue = -Infinity;
  private total = 0;

  constructor(options: HistogramOptions = {}) {
    const unit = options.unit ?? 1;
    const bits = options.precisionBits ?? 8;
    if (!(unit > 0 && Number.isFinite(unit))) throw new RangeError(`unit must be a finite number > 0, got ${unit}`);
    if (!(Number.isInteger(bits) && bits >= 1 && bits <= 16)) throw new RangeError(`precisionBits must be an integer from 1 to 16, got ${bits}`);
    const highest = options.highest ?? unit * 2 ** 32;
    if (!(highest >= unit && highest / unit <= 2 ** 52)) throw new RangeError(`highest must be from one unit to 2^52 units, got ${highest}`);
    this.unit = unit;
    this.highest = highest;
    this.precisionBits = bits;
    this.linear = 2 ** bits;
    this.half = this.linear / 2;
    this.topUnits = Math.floor(highest / unit);
    this.counts = new Float64Array(this.indexOf(this.topUnits) + 1);
  }

  /** Buckets held (fixed at construction). */
  get bucketCount(): number {
    return this.counts.length;
  }

  /** Counts `value` (≥ 0) `times` times. */
  record(value: number, times = 1): void {
    if (!(value >= 0) || value === Infinity) throw new RangeError(`a histogram takes finite values ≥ 0, got ${value}`);
    if (!(times >= 0 && Number.isInteger(times))) throw new RangeError(`times must be an integer ≥ 0, got ${times}`);
    if (times === 0) return;
    let units = Math.floor(value / this.unit);
    if (units > this.topUnits) {
      units = this.topUnits;
      this.clamped += times;
    }
    this.counts[this.indexOf(units)]! += times;
    this.count += times;
    this.total += value * times;
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
  }

  /** The smallest and largest values recorded, exactly (NaN when empty). */
  get min(): number {
    return this.count === 0 ? NaN : this.minValue;
  }

  get max(): number {
    return this.count === 0 ? NaN : this.maxValue;
  }

  /** The mean of the values recorded, exactly (NaN when empty). */
  get mean(): number {
    return this.count === 0 ? NaN : this.total / this.count;
  }

  /**
   * The value below which `q` percent of the recorded values fall (q in [0, 100]): the
   * middle of the bucket holding that rank (a one-unit bucket: its value), kept within
   * [min, max]; NaN when empty. Off by at most half a bucket and one unit; non-decreasing in q.
   */
  percentile(q: number): number {
    if (!(q >= 0 && q <= 100)) throw new RangeError(`a percentile is from 0 to 100, got ${q}`);
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((q / 100) * this.count));
    const counts = this.counts;
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      if (seen >= rank) {
        const [low, width] = this.bucketOf(i);
        const mid = (low + (width - 1) / 2) * this.unit;
        return Math.min(this.maxValue, Math.max(this.minValue, mid));
      }
    }
    return this.maxValue;
  }

  /** Adds the counts of `other`, which must have the same layout. */
  merge(other: Histogram): void {
    if (other.unit !== this.unit || other.highest !== this.highest || other.precisionBits !== this.precisionBits) {
      throw new RangeError('histograms merged must have the same unit, highest and precisionBits');
    }
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.clamped += other.clamped;
    this.total += other.total;
    if (other.count > 0) {
      this.minValue = Math.min(this.minValue, other.minValue);
      this.maxValue = Math.max(this.maxValue, other.maxValue);
    }
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.clamped = 0;
    this.total = 0;
    this.minValue = Infinity;
    this.maxValue = -Infinity;
  }

  /** The bucket of a count of units. */
  private indexOf(units: number): number {
    if (units < this.linear) return units;
    const exp = floorLog2(units);
    const shift = exp - this.precisionBits + 1;
    return shift * this.half + Math.floor(units / 2 ** shift);
  }

  /** The lowest count of units of bucket `i`, and its width in units. */
  private bucketOf(i: number): [number, number] {
    if (i < this.linear) return [i, 1];
    const shift = Math.floor(i / this.half) - 1;
    const width = 2 ** shift;
    return [(i - shift * this.half) * width, width];
  }
}

/** floor(log2(n)) of an integer n ≥ 1 up to 2^53. */
function floorLog2(n: number): number {
  if (n < 0x1_0000_0000) return 31 - Math.clz32(n);
  let e = Math.floor(Math.log2(n));
  if (2 ** e > n) e--;
  else if (2 ** (e + 1) <= n) e++;
  return e;
}
