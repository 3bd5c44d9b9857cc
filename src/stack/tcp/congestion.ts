/**
 * Congestion control as a small pluggable module. The connection does loss detection
 * and recovery mechanics (fast retransmit, NewReno partial ACKs, RFC 6582; limited
 * transmit, RFC 3042); the module decides how the window grows and how far it falls:
 * NewReno (newreno.ts, RFC 5681), CUBIC (cubic.ts, RFC 9438; the default, as in Linux),
 * chosen by name in congestion-modules.ts.
 */

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
