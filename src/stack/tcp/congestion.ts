/**
 * Congestion control as a small pluggable module. The connection does loss detection
 * and recovery mechanics (fast retransmit, NewReno partial ACKs, RFC 6582; limited
 * transmit, RFC 3042); the module decides how the window grows and how far it falls:
 * NewReno here (RFC 5681), CUBIC (RFC 9438) in cubic.ts (the default, as in Linux).
 */
import { cubic } from './cubic.js';

export interface CongestionControl {
  readonly name: string;
  /** Congestion window (bytes). */
  cwnd: number;
  /** Slow-start threshold (bytes). */
  ssthresh: number;
  /** New data `acked` bytes acknowledged outside recovery; `flight` was in flight before the ACK. */
  onAck(acked: number, flight: number, mss: number, now: number): void;
  /** Loss found by duplicate ACKs: set ssthresh (and cwnd as it should be after recovery). */
  onCongestion(flight: number, mss: number, now: number): void;
  /** A retransmission timeout (RFC 5681 §3.1 eq. 4, cwnd to one loss window). */
  onRto(flight: number, mss: number, now: number): void;
  /** Fast recovery ended with a full ACK. */
  onRecoveryEnd(flight: number, mss: number, now: number): void;
  /** The connection found the last reduction spurious and gave cwnd and ssthresh back (undo.ts). Optional. */
  onUndo?(): void;
  /** An RTT sample (ms, Karn's rule applied by the connection), for modules that need the RTT (CUBIC). Optional. */
  onRtt?(sample: number, now: number): void;
}

export type CongestionFactory = (mss: number, initialWindow: number) => CongestionControl;

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

/** The modules by name (TcpOptions.congestion takes a name or a factory). */
export type CongestionName = 'cubic' | 'newreno';

export function congestionFactory(c: CongestionName | CongestionFactory): CongestionFactory {
  if (typeof c === 'function') return c;
  if (c === 'cubic') return cubic;
  if (c === 'newreno') return newReno;
  throw new RangeError(`unknown congestion control ${String(c)}`);
}
