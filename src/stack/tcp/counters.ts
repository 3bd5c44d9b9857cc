/** What one Tcp instance counts (a plain object: cheap to bump, easy to print). */
import { STATE_NAMES, type TcpStateName } from './state.js';

export interface TcpDropCounters {
  badChecksum: number;
  /** Segments for no connection and no listener (answered with RST). */
  noListener: number;
  outOfWindow: number;
  oooQueueFull: number;
  /** Data dropped for want of memory: over the connection's receive budget after collapsing and pruning (Linux TCPRcvQDrop / TCPOFODrop) ... */
  rcvBufferFull: number;
  /** ... or over the stack's receive memory limit (StackOptions.receiveMemory). */
  memoryLimit: number;
  backlogFull: number;
  /** Bad data offset, bad options, truncated. */
  malformed: number;
  /** ACK for something we did not send, in a synchronized state. */
  badAck: number;
  /** The frame pool was empty when building a segment. */
  noBuffer: number;
  /** The queue of segments sent without a connection (RSTs, TIME_WAIT ACKs) was full. */
  rstQueueFull: number;
  /** Connections closed without TIME_WAIT: the TIME_WAIT table was full (maxTimeWait). */
  timeWaitFull: number;
  /** A segment made the code throw (a bug): dropped, counted, the stack goes on. Tests assert 0. */
  internalError: number;
}

export interface TcpCounters {
  segmentsIn: number;
  segmentsOut: number;
  bytesIn: number;
  bytesOut: number;
  retransmittedSegments: number;
  /** Payload bytes sent again (any reason: fast retransmit, SACK recovery, timeout). */
  retransmittedBytes: number;
  fastRetransmits: number;
  /** SYNs and SYN-ACKs sent again after a timeout (Linux TCPSynRetrans). */
  synRetransmits: number;
  /** Loss recoveries driven by SACK (RFC 6675), and the payload bytes they retransmitted. */
  sackRecoveries: number;
  sackRetransmittedBytes: number;
  /** Received SACK blocks ignored: malformed option, empty, inverted or beyond SND.MAX. */
  sackBlocksIgnored: number;
  /** Loss recoveries and timeouts found spurious by their ACK's timestamp echo and undone (RFC 3522 / RFC 4015; Linux TCPFullUndo, TCPSpuriousRTOs). */
  spuriousRecoveries: number;
  spuriousRtos: number;
  /** Tail loss probes sent (RFC 8985 §7). */
  lossProbes: number;
  /** Duplicate segments reported to the peer as D-SACK blocks (RFC 2883). */
  dsacksSent: number;
  /** Receive buffers grown by autotuning (TcpOptions.recvBufferMax). */
  rcvBufGrown: number;
  /** Received segments copied out of their frame because the stack was short of receive memory (pressure). */
  pressureCopies: number;
  /** Held segments copied together into compact memory, their frames let go (Linux TCPRcvCollapsed). */
  collapsedSegments: number;
  /** Out-of-order segments dropped from the far end to make room (Linux OfoPruned). */
  oooPruned: number;
  /** ACKs not sent to out-of-window segments: over the per-connection limit (500 ms; Linux TCPACKSkippedSeq, TCPACKSkippedPAWS). */
  outOfWindowAcksLimited: number;
  /** New connections that took over a 4-tuple still in TIME_WAIT (RFC 6191: a higher sequence number or timestamp). */
  timeWaitReused: number;
  /** Segments dropped by PAWS (RFC 7323 §5: TSval older than TS.Recent), answered with an ACK. */
  pawsDrops: number;
  rtoTimeouts: number;
  persistProbes: number;
  keepaliveProbes: number;
  delayedAcks: number;
  challengeAcks: number;
  /** Connections reset because data arrived after close() (RFC 1122 §4.2.2.13; Linux TCPAbortOnData). */
  abortOnData: number;
  /** Challenge ACKs (and, from TIME_WAIT, ACKs to out-of-window segments) not sent: over the per-connection limit (RFC 5961 §7). */
  challengeAcksLimited: number;
  activeOpens: number;
  passiveOpens: number;
  resetsSent: number;
  resetsReceived: number;
  connectFailures: number;
  timeouts: number;
  /** SYN cookies sent (SYN queue full), valid cookies received (connections made from them), ACKs that failed the cookie check. */
  syncookiesSent: number;
  syncookiesRecv: number;
  syncookiesFailed: number;
  drops: TcpDropCounters;
  /** Current number of connections in each state (LISTEN counts listeners; CLOSED stays 0: a closed connection is in no table). */
  states: Record<TcpStateName, number>;
}

/**
 * `stateCounts` (indexed by state number) backs `states`: a connection changing state
 * bumps two array slots, where a property named by a variable would be a slow keyed
 * access on every transition.
 */
export function newTcpCounters(stateCounts = new Int32Array(STATE_NAMES.length)): TcpCounters {
  const states = {} as Record<TcpStateName, number>;
  STATE_NAMES.forEach((n, i) =>
    Object.defineProperty(states, n, {
      enumerable: true,
      get: () => stateCounts[i]!,
      set: (v: number) => {
        stateCounts[i] = v;
      },
    }),
  );
  return {
    segmentsIn: 0,
    segmentsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    retransmittedSegments: 0,
    retransmittedBytes: 0,
    fastRetransmits: 0,
    synRetransmits: 0,
    sackRecoveries: 0,
    sackRetransmittedBytes: 0,
    sackBlocksIgnored: 0,
    spuriousRecoveries: 0,
    spuriousRtos: 0,
    lossProbes: 0,
    dsacksSent: 0,
    rcvBufGrown: 0,
    pressureCopies: 0,
    collapsedSegments: 0,
    oooPruned: 0,
    outOfWindowAcksLimited: 0,
    timeWaitReused: 0,
    pawsDrops: 0,
    rtoTimeouts: 0,
    persistProbes: 0,
    keepaliveProbes: 0,
    delayedAcks: 0,
    challengeAcks: 0,
    abortOnData: 0,
    challengeAcksLimited: 0,
    activeOpens: 0,
    passiveOpens: 0,
    resetsSent: 0,
    resetsReceived: 0,
    connectFailures: 0,
    timeouts: 0,
    syncookiesSent: 0,
    syncookiesRecv: 0,
    syncookiesFailed: 0,
    drops: { badChecksum: 0, noListener: 0, outOfWindow: 0, oooQueueFull: 0, rcvBufferFull: 0, memoryLimit: 0, backlogFull: 0, malformed: 0, badAck: 0, noBuffer: 0, rstQueueFull: 0, timeWaitFull: 0, internalError: 0 },
    states,
  };
}
