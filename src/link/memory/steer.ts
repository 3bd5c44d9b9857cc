/**
 * Receive-side scaling as a NIC does it (Microsoft RSS): IPv4 TCP/UDP datagrams that
 * are not fragments hash their 4-tuple, other IPv4 (fragments included, so all
 * fragments of a datagram land on one queue) the 2-tuple; anything else has no hash
 * and goes to queue 0. The queue is `table[hash & 127]`.
 */

import { DEFAULT_RSS_KEY, ToeplitzHasher } from '../../wire/toeplitz.js';
import type { Frame } from './frame.js';

const hashers = new WeakMap<Uint8Array, ToeplitzHasher>();

/** One hasher per key (its tables are 36 KB), shared by the devices that use the key. */
export function hasherFor(key: Uint8Array = DEFAULT_RSS_KEY): ToeplitzHasher {
  let h = hashers.get(key);
  if (h === undefined) {
    h = new ToeplitzHasher(key);
    hashers.set(key, h);
  }
  return h;
}

/** The RSS hash of a frame, or -1 when it has none (not IPv4). */
export function rssHashOf(f: Frame, hasher: ToeplitzHasher): number {
  if (f.ipOff < 0) return -1;
  if (f.l4Off >= 0) return hasher.hashIpv4Ports(f.src, f.dst, f.sport, f.dport);
  return hasher.hashIpv4(f.src, f.dst);
}
