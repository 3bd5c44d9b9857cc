/**
 * What every link offers the stack above it (DESIGN.md, Data path): a `Device` with
 * features and one or more `Queue`s, as a multi-queue NIC has queue pairs.
 *
 * Receive hands *bursts*: a queue calls its receiver with up to `burst` packets at once,
 * and the receiver owns them from then on (it releases each).
 *
 * Transmit is pulled, as in Seastar: the stack registers providers; when the queue has
 * room it asks them, round-robin, for packets. A full queue stops asking, which is how
 * back pressure reaches TCP and then the application. The queue owns a packet it pulled.
 */

import type { MacAddress } from '../wire/addr.js';
import type { Packet } from '../packet/packet.js';
import type { FramePool } from '../packet/pool.js';
import type { Pollable } from '../time/pollable.js';

/** RSS: a packet's Toeplitz hash picks `table[hash & 127]`, a queue index (Microsoft RSS, §Indirection table). */
export interface RssConfig {
  key: Uint8Array;
  table: Uint8Array;
}

export const RSS_TABLE_SIZE = 128;

export interface DeviceFeatures {
  /** Largest IP packet on the wire (bytes, without the Ethernet header). */
  mtu: number;
  /** On receive the device checks IPv4 header checksums / TCP and UDP checksums (`csumVerified`). */
  rxCsumIp: boolean;
  rxCsumL4: boolean;
  /** On transmit the device fills in IPv4 header checksums / L4 checksums (`csumStart`, `csumOffset`). */
  txCsumIp: boolean;
  txCsumL4: boolean;
  /** TCP segmentation offload: the stack may send frames up to `maxTsoSize` with `gsoSize` set. */
  tso: boolean;
  maxTsoSize: number;
  /** Large receive offload: received TCP segments may arrive merged, up to 64 KB (`reassembled`). */
  lro: boolean;
  rss: RssConfig;
}

export interface QueueStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Frames that arrived but found no room (ring full, pool empty). */
  rxDrops: number;
  /** Frames that could not be sent (too large, malformed offload request). */
  txDrops: number;
}

export function newQueueStats(): QueueStats {
  return { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, rxDrops: 0, txDrops: 0 };
}

export type RxHandler = (burst: Packet[], count: number) => void;

/** Asked for the next packet to send when the queue has room; null when it has none. */
export type TxProvider = () => Packet | null;

export type { Pollable } from '../time/pollable.js';

export interface Queue extends Pollable {
  readonly id: number;
  readonly stats: QueueStats;
  /** The receiver of bursts; it owns the packets it is handed (and the burst array only during the call). */
  setReceiver(handler: RxHandler): void;
  addProvider(provider: TxProvider): void;
  removeProvider(provider: TxProvider): void;
  /**
   * The pools this queue receives into, each with the `reserve` its ring needs (DESIGN.md,
   * Memory): while one of them is `low`, the stack keeps no more of their frames.
   */
  readonly rxPools: readonly FramePool[];
}

export interface Device {
  readonly name: string;
  readonly mac: MacAddress;
  readonly features: DeviceFeatures;
  readonly queues: readonly Queue[];
}

/** The queue RSS picks for a hash. */
export function queueForHash(features: DeviceFeatures, hash: number): number {
  return features.rss.table[hash & (RSS_TABLE_SIZE - 1)]!;
}

/** The redirection table that spreads hashes evenly over `queues` queues. */
export function evenRssTable(queues: number): Uint8Array {
  const t = new Uint8Array(RSS_TABLE_SIZE);
  for (let i = 0; i < RSS_TABLE_SIZE; i++) t[i] = i % queues;
  return t;
}

/** The stats of `queues` added up (a device's totals). */
export function sumQueueStats(queues: readonly { readonly stats: QueueStats }[]): QueueStats {
  const t = newQueueStats();
  for (const q of queues) {
    t.rxFrames += q.stats.rxFrames;
    t.rxBytes += q.stats.rxBytes;
    t.txFrames += q.stats.txFrames;
    t.txBytes += q.stats.txBytes;
    t.rxDrops += q.stats.rxDrops;
    t.txDrops += q.stats.txDrops;
  }
  return t;
}
