/**
 * Retransmission timeout (RFC 6298): SRTT and RTTVAR from RTT samples (taken with
 * Karn's rule by the connection: never from a retransmitted segment), RTO =
 * SRTT + max(G, 4·RTTVAR), clamped to [minRto, maxRto]; exponential backoff on
 * timeout, cleared by the next valid sample.
 */
export class RttEstimator {
  srtt = 0;
  rttvar = 0;
  /** The smallest sample seen (ms; Infinity before any): the path's propagation delay, as Linux's tcp_min_rtt (whose window is 300 s). */
  minRtt = Infinity;
  /** The RTO without backoff (ms). */
  baseRto: number;
  /** Timeouts in a row (the backoff exponent). */
  backoff = 0;
  private hasSample = false;

  constructor(
    private readonly minRto: number,
    private readonly maxRto: number,
    initialRto: number,
    /** Clock granularity G (ms). */
    private readonly granularity = 1,
  ) {
    this.baseRto = initialRto;
  }

  get samples(): boolean {
    return this.hasSample;
  }

  /** The current RTO with backoff applied (ms). */
  get rto(): number {
    const r = this.baseRto * 2 ** this.backoff;
    return r > this.maxRto ? this.maxRto : r;
  }

  sample(r: number): void {
    if (!(r >= 0)) return;
    if (r < this.minRtt) this.minRtt = r;
    if (!this.hasSample) {
      this.srtt = r;
      this.rttvar = r / 2;
      this.hasSample = true;
    } else {
      const d = this.srtt - r;
      this.rttvar = 0.75 * this.rttvar + 0.25 * (d < 0 ? -d : d);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    let rto = this.srtt + Math.max(this.granularity, 4 * this.rttvar);
    if (rto < this.minRto) rto = this.minRto;
    if (rto > this.maxRto) rto = this.maxRto;
    this.baseRto = rto;
    this.backoff = 0;
  }

  /** A timeout: doubles the RTO (up to maxRto). */
  backOff(): void {
    if (this.baseRto * 2 ** this.backoff < this.maxRto) this.backoff++;
  }
}
