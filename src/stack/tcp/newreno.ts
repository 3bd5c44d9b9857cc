/** NewReno (RFC 5681 slow start and congestion avoidance, RFC 6582's loss response) as a congestion module. */
import type { CongestionControl, CongestionFactory } from './congestion.js';

/** RFC 5681 slow start and congestion avoidance, the NewReno loss response. */
export class NewReno implements CongestionControl {
  readonly name = 'newreno';
  cwnd: number;
  ssthresh = 0x7fffffff;
  /** Bytes acked in congestion avoidance not yet turned into cwnd (RFC 5681 §3.1, appropriate byte counting). */
  private bytesAcked = 0;

  constructor(initialWindow: number) {
    this.cwnd = initialWindow;
  }

  onAck(acked: number, flight: number, mss: number): void {
    // Do not grow a window the sender does not use (RFC 7661 spirit; as Linux's
    // tcp_is_cwnd_limited: in slow start, half the window in flight is enough).
    if (this.cwnd < this.ssthresh) {
      if (2 * flight < this.cwnd) return;
      // Slow start, L = 2·SMSS (RFC 3465).
      this.cwnd += acked < 2 * mss ? acked : 2 * mss;
      return;
    }
    if (flight + 3 * mss < this.cwnd) return;
    this.bytesAcked += acked;
    if (this.bytesAcked >= this.cwnd) {
      this.bytesAcked -= this.cwnd;
      this.cwnd += mss;
    }
  }

  onCongestion(flight: number, mss: number): void {
    this.ssthresh = Math.max(flight >>> 1, 2 * mss);
    this.cwnd = this.ssthresh;
    this.bytesAcked = 0;
  }

  onRto(flight: number, mss: number): void {
    this.ssthresh = Math.max(flight >>> 1, 2 * mss);
    this.cwnd = mss;
    this.bytesAcked = 0;
  }

  onUndo(): void {
    this.bytesAcked = 0;
  }

  onRecoveryEnd(flight: number, mss: number): void {
    // RFC 6582 §3.2 step 3, option 1.
    this.cwnd = Math.min(this.ssthresh, Math.max(flight, mss) + mss);
  }
}

export const newReno: CongestionFactory = (_mss, iw) => new NewReno(iw);
