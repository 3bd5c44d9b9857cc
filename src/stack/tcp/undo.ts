/**
 * Spurious retransmissions found and undone: the Eifel detection algorithm (RFC 3522)
 * with timestamps, and the undo of the congestion response it allows (RFC 4015; Linux's
 * tcp_try_undo_recovery / tcp_try_undo_loss).
 *
 * When a loss recovery or a timeout starts, the window before the reduction is kept and
 * the TSval of the first retransmission noted. The first ACK that then moves SND.UNA
 * decides: an echo (TSecr) older than that retransmission shows the original segment
 * arrived — it was late (reordered or delayed), not lost — so the reduction is taken
 * back. Otherwise the loss was real and the episode is closed.
 *
 * A recovery undone this way also measures reordering: how far above the late segment
 * the peer had already SACKed. The connection raises its duplicate threshold to that
 * (Linux's tp->reordering, capped at MAX_REORDERING), so the same reordering is not
 * taken for loss again.
 */
import type { CongestionControl } from './congestion.js';
import { seqLt } from '../../wire/seq.js';

/** The duplicate-ACK threshold to start with (RFC 5681 §3.2), and the highest reordering taken (Linux's tcp_max_reordering). */
export const INITIAL_REORDERING = 3;
export const MAX_REORDERING = 300;

export const EPISODE_NONE = 0;
/** Fast retransmit / SACK loss recovery. */
export const EPISODE_RECOVERY = 1;
/** Retransmission timeout. */
export const EPISODE_TIMEOUT = 2;

export class LossUndo {
  /** The episode being watched (EPISODE_*), or EPISODE_NONE. */
  episode = EPISODE_NONE;
  /** TSval of the episode's first retransmission (RFC 3522 RetransmitTS). */
  private retransmitTs = 0;
  private priorCwnd = 0;
  private priorSsthresh = 0;

  /**
   * An episode starts, before the congestion module reduces the window. `ts` is our
   * TSval now (the first retransmission goes out with it or a later one). A timeout
   * during a watched episode keeps the first episode's window and RetransmitTS.
   */
  start(kind: number, cc: CongestionControl, ts: number): void {
    if (this.episode !== EPISODE_NONE) {
      if (kind === EPISODE_TIMEOUT) this.episode = EPISODE_TIMEOUT;
      return;
    }
    this.episode = kind;
    this.retransmitTs = ts;
    this.priorCwnd = cc.cwnd;
    // As Linux's tcp_current_ssthresh: ssthresh, or 3/4 of cwnd when that is more.
    const three4 = (cc.cwnd >>> 1) + (cc.cwnd >>> 2);
    this.priorSsthresh = cc.ssthresh > three4 ? cc.ssthresh : three4;
  }

  /**
   * The first ACK that moves SND.UNA in an episode, with its TSecr: true when the
   * retransmission was spurious, and then the window is restored (never lowered). The
   * episode ends either way.
   */
  decide(tsEcr: number, cc: CongestionControl): boolean {
    const spurious = seqLt(tsEcr, this.retransmitTs);
    this.episode = EPISODE_NONE;
    if (!spurious) return false;
    if (cc.cwnd < this.priorCwnd) cc.cwnd = this.priorCwnd;
    if (cc.ssthresh < this.priorSsthresh) cc.ssthresh = this.priorSsthresh;
    cc.onUndo?.();
    return true;
  }

  /** Without timestamps nothing can be decided: the episode is forgotten. */
  clear(): void {
    this.episode = EPISODE_NONE;
  }
}

/** The reordering seen when a late segment at `lowSeq` arrives while the peer held up to `highSacked` (segments, rounded up). */
export function reorderingDegree(lowSeq: number, highSacked: number, mss: number): number {
  const bytes = (highSacked - lowSeq) | 0;
  if (bytes <= 0) return 0;
  const d = Math.ceil(bytes / mss);
  return d < MAX_REORDERING ? d : MAX_REORDERING;
}
