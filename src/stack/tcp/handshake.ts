/**
 * The three-way handshake's rules (RFC 9293 §3.5), apart from the state changes the
 * connection makes (connection.ts: `openActive`, `openPassive`, `synSentArrives`,
 * `establish`): what a segment in SYN_SENT means (§3.10.7.3), and what both ends agree
 * from the peer's SYN — the MSS (§3.7.1, less what the path MTU allows), window scaling
 * (RFC 7323 §2), timestamps (RFC 7323 §3) and SACK (RFC 2018). A SYN in LISTEN, SYN
 * cookies and a SYN that meets TIME_WAIT are the listener's (listener.ts).
 */
import { seqGt, seqLeq } from '../../wire/seq.js';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import type { ResolvedTcpOptions } from './options.js';
import { DEFAULT_MSS, type Receiver } from './receiver.js';
import type { SegmentInfo } from './segment.js';
import { MIN_MSS, TS_LEN, type Sender } from './sender.js';

/** What a segment means in SYN_SENT (RFC 9293 §3.10.7.3). */
export const SYN_SENT_IGNORE = 0;
/** An ACK of something we never sent: answered with a RST (unless it is one). */
export const SYN_SENT_BAD_ACK = 1;
/** A RST that acknowledges our SYN: the connection is refused. */
export const SYN_SENT_REFUSED = 2;
/** The peer's SYN-ACK: the connection is established. */
export const SYN_SENT_SYN_ACK = 3;
/** The peer's SYN alone: a simultaneous open (§3.5, figure 7), on to SYN_RECEIVED. */
export const SYN_SENT_SYN = 4;

export function synSentVerdict(s: SegmentInfo, iss: number, sndMax: number): number {
  const flags = s.flags;
  const hasAck = (flags & TCP_ACK) !== 0;
  // First the ACK: it must acknowledge our SYN and nothing we have not sent.
  if (hasAck && (seqLeq(s.ack, iss) || seqGt(s.ack, sndMax))) return flags & TCP_RST ? SYN_SENT_IGNORE : SYN_SENT_BAD_ACK;
  // Second the RST: only with an acceptable ACK (else it may be a blind attack, RFC 5961 §3).
  if (flags & TCP_RST) return hasAck ? SYN_SENT_REFUSED : SYN_SENT_IGNORE;
  // Fourth the SYN (the third, security, has nothing to check here).
  if (!(flags & TCP_SYN)) return SYN_SENT_IGNORE;
  return hasAck ? SYN_SENT_SYN_ACK : SYN_SENT_SYN;
}

/**
 * The options of the peer's SYN (or SYN-ACK) `s` against ours: what both directions use
 * from now on. `pathMtu`: what we know of the path; `now`: when TS.Recent was set.
 */
export function negotiate(s: SegmentInfo, opts: ResolvedTcpOptions, snd: Sender, rx: Receiver, pathMtu: number, now: number): void {
  const peerMss = s.mss > 0 ? s.mss : DEFAULT_MSS;
  if (opts.windowScaling && s.wscale >= 0) {
    snd.sndScale = s.wscale > 14 ? 14 : s.wscale;
    rx.rcvScale = rx.ourScale;
    snd.scaleOk = true;
  } else {
    // No scaling in either direction: the window we offer fits in 16 bits.
    snd.sndScale = 0;
    rx.rcvScale = 0;
    if (rx.rcvBuf > 65535) rx.rcvBuf = 65535;
    if (rx.rcvBufMax > 65535) rx.rcvBufMax = 65535;
  }
  snd.sackOk = rx.sackOk = opts.sack && s.sackPermitted;
  snd.tsOk = rx.tsOk = opts.timestamps && s.tsPresent;
  if (snd.tsOk) {
    rx.tsRecent = s.tsVal;
    rx.tsRecentAt = now;
  }
  snd.mssLimit = Math.max(MIN_MSS, Math.min(peerMss, pathMtu - 40, opts.mss));
  // As Linux: the timestamp option comes out of every segment's payload.
  snd.sndMss = snd.mssLimit - (snd.tsOk ? TS_LEN : 0);
  rx.rcvMss = Math.min(rx.advMss, DEFAULT_MSS);
  snd.cc = opts.congestion(snd.sndMss, snd.initialWindow(snd.sndMss));
}
