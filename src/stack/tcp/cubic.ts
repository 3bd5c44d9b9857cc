/**
 * CUBIC congestion control (RFC 9438), the Linux default.
 *
 * In congestion avoidance the window follows W_cubic(t) = C·(t − K)³ + W_max (segments,
 * t in seconds since the start of the avoidance epoch), C = 0.4, with
 * K = ∛((W_max − cwnd_epoch)/C) (§4.2): concave below W_max (a fast return to where the
 * last loss happened, then a plateau), convex beyond it (probing). Each ACK moves cwnd
 * by (target − cwnd)/cwnd segments, target = W_cubic(t + RTT) clamped to
 * [cwnd, 1.5·cwnd] (§4.4, §4.5). Where Reno would do better (short RTTs, small windows)
 * the Reno-friendly estimate W_est, which grows α_cubic = 3(1 − β)/(1 + β) segments per
 * round trip (1 once past cwnd_prior), wins (§4.3). A loss sets ssthresh = cwnd·β,
 * β = 0.7, with fast convergence (§4.7): a flow whose loss comes below its previous
 * W_max gives up more, W_max = cwnd·(1 + β)/2. A timeout (§4.8) falls to one segment
 * with the same ssthresh; the first epoch after it starts with K = 0 and
 * W_max = W_est = cwnd at the start of the epoch. Slow start is RFC 5681's (as NewReno),
 * without HyStart.
 *
 * Time comes from the `now` argument (ms); the RTT from `onRtt` samples (the smoothed
 * value is used, as the RFC's "RTT"). cwnd is kept in whole bytes (the connection reads
 * and writes it); the fractional part of the growth is carried separately.
 */
import type { CongestionControl, CongestionFactory } from './congestion.js';

export const CUBIC_C = 0.4;
export const CUBIC_BETA = 0.7;
/** α_cubic of the Reno-friendly region (RFC 9438 §4.3). */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** K (seconds) for a given W_max and cwnd at the start of the epoch (segments), RFC 9438 eq. 2. */
export function cubicK(wMax: number, cwndEpoch: number, c = CUBIC_C): number {
  return wMax > cwndEpoch ? Math.cbrt((wMax - cwndEpoch) / c) : 0;
}

/** W_cubic(t) (segments), RFC 9438 eq. 1; t and K in seconds. */
export function cubicW(t: number, k: number, wMax: number, c = CUBIC_C): number {
  const d = t - k;
  return c * d * d * d + wMax;
}

export interface CubicOptions {
  fastConvergence?: boolean;
  c?: number;
  beta?: number;
}

export class Cubic implements CongestionControl {
  readonly name = 'cubic';
  cwnd: number;
  ssthresh = 0x7fffffff;
  readonly c: number;
  readonly beta: number;
  readonly fastConvergence: boolean;
  /** W_max (segments): the window before the last reduction (after fast convergence). 0: none yet. */
  wMax = 0;
  /** cwnd (segments) at the last congestion event, before the reduction (§4.3's cwnd_prior). */
  cwndPrior = 0;
  /** Start of the current avoidance epoch (ms), or -1 when none has started. */
  epochStart = -1;
  /** cwnd (segments) at the start of the epoch. */
  cwndEpoch = 0;
  /** K (s) of the current epoch. */
  k = 0;
  /** The Reno-friendly estimate (segments). */
  wEst = 0;
  /** Smoothed RTT (ms) from `onRtt`, 0 before any sample; and the smallest sample. */
  srtt = 0;
  minRtt = 0;
  /** Growth (bytes) not yet a whole byte. */
  private frac = 0;
  /** cwnd as this module last set it (smaller at the next ACK: someone shrank it, a new epoch). */
  private lastSet = 0;
  /** In the loss state (an RTO with no ACK of new data since): another RTO keeps ssthresh. */
  private inLoss = false;

  constructor(initialWindow: number, o: CubicOptions = {}) {
    this.cwnd = initialWindow;
    this.lastSet = initialWindow;
    this.c = o.c ?? CUBIC_C;
    this.beta = o.beta ?? CUBIC_BETA;
    this.fastConvergence = o.fastConvergence ?? true;
  }

  get alpha(): number {
    return (3 * (1 - this.beta)) / (1 + this.beta);
  }

  onRtt(sample: number, _now: number): void {
    if (!(sample >= 0)) return;
    this.srtt = this.srtt === 0 ? sample : 0.875 * this.srtt + 0.125 * sample;
    if (this.minRtt === 0 || sample < this.minRtt) this.minRtt = sample;
  }

  onAck(acked: number, flight: number, mss: number, now: number): void {
    this.inLoss = false;
    if (this.cwnd < this.lastSet) this.epochStart = -1; // shrunk from outside (idle restart, PMTU): a new epoch
    if (this.cwnd < this.ssthresh) {
      // Slow start (RFC 5681, L = 2·SMSS), only when the window is used (as NewReno).
      if (2 * flight >= this.cwnd) this.cwnd += acked < 2 * mss ? acked : 2 * mss;
      this.lastSet = this.cwnd;
      return;
    }
    // Not window-limited: do not grow (RFC 9438 §5.8); the epoch's clock keeps its place.
    if (flight + 3 * mss < this.cwnd) {
      this.lastSet = this.cwnd;
      return;
    }
    const cwndSeg = this.cwnd / mss;
    if (this.epochStart < 0) {
      this.epochStart = now;
      this.cwndEpoch = cwndSeg;
      this.frac = 0;
      if (this.wMax < cwndSeg) {
        // No loss yet, a loss above W_max, or after an RTO (§4.8): start at the plateau.
        this.wMax = cwndSeg;
        this.k = 0;
      } else {
        this.k = cubicK(this.wMax, cwndSeg, this.c);
      }
      this.wEst = cwndSeg;
    }
    const segs = acked / mss;
    const alpha = this.wEst >= this.cwndPrior ? 1 : this.alpha;
    this.wEst += (alpha * segs) / cwndSeg;
    const t = (now - this.epochStart) / 1000;
    const w = cubicW(t, this.k, this.wMax, this.c);
    let next: number;
    if (w < this.wEst) {
      // Reno-friendly region (§4.3).
      next = this.wEst * mss;
      if (next < this.cwnd) next = this.cwnd;
    } else {
      // Concave (§4.4) or convex (§4.5) region.
      let target = cubicW(t + this.srtt / 1000, this.k, this.wMax, this.c);
      if (target < cwndSeg) target = cwndSeg;
      else if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
      this.frac += ((target - cwndSeg) / cwndSeg) * segs * mss;
      const whole = Math.floor(this.frac);
      this.frac -= whole;
      next = this.cwnd + whole;
    }
    this.cwnd = Math.floor(next);
    this.lastSet = this.cwnd;
  }

  /** The loss response of §4.6 with fast convergence (§4.7). */
  private reduce(mss: number): void {
    const cwndSeg = this.cwnd / mss;
    this.cwndPrior = cwndSeg;
    this.wMax = this.fastConvergence && cwndSeg < this.wMax ? (cwndSeg * (1 + this.beta)) / 2 : cwndSeg;
    const s = Math.floor(this.cwnd * this.beta);
    this.ssthresh = s > 2 * mss ? s : 2 * mss;
    this.epochStart = -1;
    this.frac = 0;
  }

  onCongestion(_flight: number, mss: number, _now: number): void {
    this.inLoss = false;
    this.reduce(mss);
    this.cwnd = this.ssthresh;
    this.lastSet = this.cwnd;
  }

  onRto(_flight: number, mss: number, _now: number): void {
    if (!this.inLoss) {
      this.reduce(mss);
      // §4.8: the first epoch after a timeout starts with K = 0, W_max = cwnd_epoch.
      this.wMax = 0;
      this.cwndPrior = 0;
    }
    this.inLoss = true;
    this.cwnd = mss;
    this.lastSet = this.cwnd;
  }

  /** As Linux after an undo: cwnd is back, W_max stays where the reduction put it; a new epoch starts from here. */
  onUndo(): void {
    this.inLoss = false;
    this.epochStart = -1;
    this.frac = 0;
    this.lastSet = this.cwnd;
  }

  onRecoveryEnd(flight: number, mss: number, _now: number): void {
    // cwnd = ssthresh (§4.6), without a burst when little is in flight (as NewReno, RFC 6582 option 1).
    const f = (flight > mss ? flight : mss) + mss;
    this.cwnd = this.ssthresh < f ? this.ssthresh : f;
    this.lastSet = this.cwnd;
  }
}

export const cubic: CongestionFactory = (_mss, iw) => new Cubic(iw);
