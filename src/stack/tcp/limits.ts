/** Time limits TCP shares between connections and TIME_WAIT records. */

/** RFC 7323 §5.5: TS.Recent is invalid after 24 days of idleness (ms). */
export const PAWS_IDLE = 24 * 86_400_000;

/**
 * RFC 5961 §7 asks for a limit on challenge ACKs: at most one per this many ms per
 * connection (Linux: per socket since CVE-2016-5696; tcp_invalid_ratelimit is 500 ms).
 * Also the least time between ACKs a TIME_WAIT record sends to out-of-window segments.
 */
export const CHALLENGE_ACK_INTERVAL_MS = 500;

/** RFC 8985 §7.2 WCDelAckT: the longest a peer may delay an ACK (what a lone segment's probe waits for too). */
export const WC_DEL_ACK_MS = 200;
/** The shortest probe timeout (Linux's tcp_schedule_loss_probe floor). */
export const TLP_MIN_MS = 10;
