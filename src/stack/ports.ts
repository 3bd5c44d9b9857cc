/**
 * Ephemeral ports (RFC 6056): one chooser per stack, for TCP's connect and listen(0) and
 * UDP's bind(0).
 *
 * Towards a known destination (TCP connect), Algorithm 4 ("double-hash", §3.3.4, as
 * Linux): port = min + (F(local, remote, remote port) + table[G(local, remote, remote
 * port)]) mod range, F and G keyed hashes, `table` counters that advance with the ports
 * they hand out. A destination sees its ports move forward from an offset no one can
 * guess, so a 4-tuple comes back only after a good part of the range has been used: a
 * new connection does not meet the TIME_WAIT of a recent one with the same ports, as it
 * did with random ports (a few percent of SYNs in a churn, each a 1 s timeout).
 * Algorithm 4 rather than 3 (one global counter): connections to other destinations do
 * not advance a destination's counter, and what one peer sees of our ports says nothing
 * of the next port towards another (§3.3.4). As Linux since 2022 (after Klein and Pinkas
 * showed the counters let a remote site fingerprint a device), the table is large (2^16)
 * and each counter moves on by a small random step too, so collisions between
 * destinations are rare and do not show.
 *
 * With no destination yet (UDP bind(0), TCP listen(0)) the port is random, as Linux's:
 * a counter would make the next one guessable.
 *
 * `usable` says whether a port may be taken (free); unusable ones are skipped, as the
 * RFC's check_suitable_port. A shard also gives the chooser a `PortFilter`: connect then
 * takes only ports whose incoming packets steer back to that shard, as Seastar's
 * connect does (shard/steering.ts). The search stays bounded by the range: with no
 * acceptable free port, choose() says none (EADDRNOTAVAIL).
 */
import { HalfSipHash } from '../util/halfsiphash.js';
import type { Random } from '../util/random.js';
import type { Ipv4Address } from '../wire/addr.js';

/** The ephemeral port range TCP and UDP pick from (Linux's ip_local_port_range default). */
export const EPHEMERAL_LOW = 32768;
export const EPHEMERAL_HIGH = 60999;
const RANGE = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;

/** Counters in the table (Linux's INET_TABLE_PERTURB_SIZE). Each starts at 0: F already puts the destination's start where no one can guess it. */
const TABLE_SIZE = 1 << 16;
/** The most a counter moves on beyond the ports it went through (a random 0..3, as Linux's small random increment). */
const JITTER = 4;

/** Whether a connection from `local`:`port` to `remote`:`remotePort` may use `port` (beyond it being free). */
export type PortFilter = (local: Ipv4Address, remote: Ipv4Address, remotePort: number, port: number) => boolean;

/**
 * listen(0) on stacks that share an address (shards): the k-th listen(0) of every shard
 * gets the same port — the first shard to get there picks it, the others take what it
 * picked — so a server that runs on every shard listens on one port, as Seastar's
 * reuse-port listeners do. Applications run the same code on every shard, so their
 * listens come in the same order. One word per listen in shared memory
 * (compare-and-exchange from 0), the same across threads.
 */
export class ListenPorts {
  private readonly slots: Int32Array;
  /** This stack's listen(0) calls so far. */
  private next = 0;

  /** Memory for `count` agreements (the listen(0) calls of a shard's life), shared by every shard of the address. */
  static memory(count = 1 << 16): SharedArrayBuffer {
    return new SharedArrayBuffer(4 * count);
  }

  constructor(memory: SharedArrayBuffer) {
    this.slots = new Int32Array(memory);
  }

  /** The port of this stack's next listen(0): the agreed one, or `pick()` when this shard is first (0: none). */
  agree(pick: () => number): number {
    const k = this.next++;
    if (k >= this.slots.length) throw new RangeError(`more than ${this.slots.length} listen(0) calls on shards sharing an address`);
    const agreed = Atomics.load(this.slots, k);
    if (agreed !== 0) return agreed;
    const mine = pick();
    if (mine === 0) return 0;
    const before = Atomics.compareExchange(this.slots, k, 0, mine);
    return before === 0 ? mine : before;
  }
}

export class EphemeralPorts {
  private readonly f: HalfSipHash;
  private readonly g: HalfSipHash;
  private readonly table = new Uint16Array(TABLE_SIZE);

  /** `accept`: for a shard, the ports whose incoming packets steer to it (null: any port). */
  constructor(
    private readonly random: Random,
    private readonly accept: PortFilter | null = null,
    /** Shards sharing an address: where their listen(0) ports are agreed. */
    private readonly listenPorts: ListenPorts | null = null,
  ) {
    this.f = new HalfSipHash(random.nextU32(), random.nextU32());
    this.g = new HalfSipHash(random.nextU32(), random.nextU32());
  }

  /**
   * A usable port for talking to `remote`:`remotePort` from `local` (RFC 6056 Algorithm 4)
   * that the filter accepts, or 0 when none is. Ports the filter refuses are stepped
   * over like ports in use: the destination's counter still moves forward.
   */
  choose(local: Ipv4Address, remote: Ipv4Address, remotePort: number, usable: (port: number) => boolean): number {
    const offset = this.f.hash3(local, remote, remotePort) % RANGE;
    const index = this.g.hash3(local, remote, remotePort) & (TABLE_SIZE - 1);
    const start = this.table[index]!;
    const accept = this.accept;
    for (let tried = 0; tried < RANGE; tried++) {
      const port = EPHEMERAL_LOW + ((offset + start + tried) % RANGE);
      if (accept !== null && !accept(local, remote, remotePort, port)) continue;
      if (!usable(port)) continue;
      // Kept within the range: no jump when it comes round.
      this.table[index] = (start + tried + 1 + this.random.int(JITTER)) % RANGE;
      return port;
    }
    return 0;
  }

  /**
   * A port for listen(0): at random, or on shards sharing an address the one they agreed
   * on; 0 when none is usable (here: the agreed one may be in use on this shard).
   */
  forListen(usable: (port: number) => boolean): number {
    if (this.listenPorts === null) return this.any(usable);
    const port = this.listenPorts.agree(() => this.any(usable));
    return port !== 0 && usable(port) ? port : 0;
  }

  /**
   * A port picked at random for talking to `remote`:`remotePort` from `local` (a UDP
   * socket bound by its first send): random as a bind's (RFC 5452 §9.2: a resolver's
   * source ports must not be guessable), and on a shard one the filter accepts, so the
   * replies steer back to it. 0 when none is.
   */
  anyToward(local: Ipv4Address, remote: Ipv4Address, remotePort: number, usable: (port: number) => boolean): number {
    const accept = this.accept;
    if (accept === null) return this.any(usable);
    return this.any((port) => accept(local, remote, remotePort, port) && usable(port));
  }

  /**
   * A usable port picked at random (no destination yet: a bind), or 0 when none is. The
   * filter does not apply: with no remote end there is no receive hash to match.
   */
  any(usable: (port: number) => boolean): number {
    const start = this.random.int(RANGE);
    for (let tried = 0; tried < RANGE; tried++) {
      const port = EPHEMERAL_LOW + ((start + tried) % RANGE);
      if (usable(port)) return port;
    }
    return 0;
  }
}
