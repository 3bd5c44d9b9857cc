/**
 * Ephemeral ports (RFC 6056), for TCP's connect and listen(0) and UDP's bind(0): one
 * chooser per stack.
 *
 * Algorithm 4 ("double-hash", §3.3.4, what Linux does): port = min + (F(local, remote,
 * remote port) + table[G(local, remote, remote port)]) mod range, where F and G are keyed
 * hashes and `table` a set of counters, each advanced by the ports it hands out. So a
 * destination sees its ports advance in order from an offset no one can guess, and a
 * 4-tuple comes back only once that destination has used the whole range: a new
 * connection does not meet the TIME_WAIT of a recent one with the same ports, as it
 * did with random ports (a few percent of SYNs in a churn, each a 1 s timeout).
 * Algorithm 4 rather than 3 (one global counter): connections to other destinations do
 * not advance a destination's counter, so they do not shorten its cycle, and what one
 * peer sees of our ports says nothing of the next port towards another (§3.3.4).
 *
 * `usable` says whether a port may be taken (free; for a shard, also "its receive hash
 * lands on this shard"); unusable ports are skipped, as the RFC's check_suitable_port.
 */
import { HalfSipHash } from '../util/halfsiphash.js';
import type { Random } from '../util/random.js';
import type { Ipv4Address } from '../wire/addr.js';

/** The ephemeral port range TCP and UDP pick from (Linux's ip_local_port_range default). */
export const EPHEMERAL_LOW = 32768;
export const EPHEMERAL_HIGH = 60999;
const RANGE = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;

/** Counters in the table (RFC 6056 leaves the size open; Linux has 65,536). */
const TABLE_SIZE = 4096;

export class EphemeralPorts {
  private readonly f: HalfSipHash;
  private readonly g: HalfSipHash;
  private readonly table = new Uint16Array(TABLE_SIZE);

  constructor(random: Random) {
    this.f = new HalfSipHash(random.nextU32(), random.nextU32());
    this.g = new HalfSipHash(random.nextU32(), random.nextU32());
    for (let i = 0; i < TABLE_SIZE; i++) this.table[i] = random.int(RANGE);
  }

  /** A usable port for talking to `remote`:`remotePort` from `local` (0s when not known yet), or 0 when none is. */
  choose(local: Ipv4Address, remote: Ipv4Address, remotePort: number, usable: (port: number) => boolean): number {
    const offset = this.f.hash3(local, remote, remotePort);
    const index = this.g.hash3(local, remote, remotePort) & (TABLE_SIZE - 1);
    const table = this.table;
    for (let count = 0; count < RANGE; count++) {
      const port = EPHEMERAL_LOW + ((offset + table[index]!) % RANGE);
      table[index] = (table[index]! + 1) % RANGE; // kept within the range: no jump when it wraps
      if (usable(port)) return port;
    }
    return 0;
  }
}
