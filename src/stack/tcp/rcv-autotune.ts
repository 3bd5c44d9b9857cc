/**
 * Receive-buffer autotuning, as Linux's tcp_rcv_space_adjust ("dynamic right-sizing"):
 * once per round trip, if the application read more than in the round trip before, the
 * window was what held the sender back, and the buffer grows to twice what was read plus
 * room to grow, up to a ceiling. A slow reader never makes it grow. The round trip is the
 * receiver's own estimate (tcp_rcv_rtt_measure_ts: full-sized data echoing our TSval),
 * else the sender side's SRTT.
 */
export class ReceiveBufferTuner {
  /** What the application read in the last measured round trip. */
  private space = 0;
  /** bytesRead and the time where the current measurement began (at < 0: none yet). */
  private mark = 0;
  private at = -1;
  /** The receiver's RTT estimate (ms; 0: none yet). */
  private rtt = 0;

  /** `firstSpace`: the first measurement's baseline (the initial window, bytes). */
  constructor(
    private readonly advMss: number,
    private readonly firstSpace: number,
  ) {}

  /** An RTT sample (ms) from a full-sized segment's echoed timestamp, weighted 1/8; `max` bounds a sane one. */
  sampleRtt(r: number, max: number): void {
    if (r < 0 || r >= max) return;
    this.rtt = this.rtt === 0 ? r : this.rtt + (r - this.rtt) / 8;
  }

  /**
   * After the application read (its total so far: `bytesRead`), the receive buffer it
   * should have: `buf`, or more, up to `max`; `srtt` is the fallback RTT.
   */
  adjust(buf: number, max: number, bytesRead: number, now: number, srtt: number): number {
    if (this.at < 0) {
      this.space = Math.min(buf, this.firstSpace);
      this.mark = bytesRead;
      this.at = now;
      return buf;
    }
    let rtt = this.rtt > 0 ? this.rtt : srtt;
    if (rtt < 1) rtt = 1; // the timestamps' grain
    if (now - this.at < rtt) return buf;
    const copied = bytesRead - this.mark;
    const space = this.space;
    this.mark = bytesRead;
    this.at = now;
    if (copied <= space) return buf;
    this.space = copied;
    let want = 2 * copied + 16 * this.advMss;
    want += (2 * want * (copied - space)) / space;
    if (want > max) want = max;
    return want > buf ? Math.floor(want) : buf;
  }
}
