/**
 * Initial sequence numbers (RFC 6528): ISN = M + F(localip, localport, remoteip,
 * remoteport, secretkey), M a clock ticking every 4 µs, F HalfSipHash-2-4 over the
 * 4-tuple keyed with 64 bits from the stack's seeded random source. The same keyed
 * function, told apart by a constant word, gives the timestamp offsets (RFC 7323 §5.4)
 * and the stack's other secrets (cookies, table and TIME_WAIT hash seeds).
 */
import { HalfSipHash } from '../../util/halfsiphash.js';

/** Tells the timestamp offset's hash from the ISN's ("tsof"). */
const TS_OFFSET_WORD = 0x74736f66;

export class IsnGenerator extends HalfSipHash {
  /** The ISN for a connection at time `now` (ms). */
  isn(localAddr: number, localPort: number, remoteAddr: number, remotePort: number, now: number): number {
    const f = this.hash3(localAddr, remoteAddr, ((localPort & 0xffff) << 16) | (remotePort & 0xffff));
    const m = Math.floor(now * 250) % 0x1_0000_0000; // 4 µs ticks
    return (f + m) >>> 0;
  }

  /**
   * The timestamp clock's offset towards a peer (RFC 7323 §5.4: F(localip, remoteip,
   * secret), as Linux's secure_tcp_ts_off): one per address pair, not per connection, so
   * every incarnation of a 4-tuple goes on from the TSvals of the last, and a new SYN
   * passes PAWS at a peer whose TIME_WAIT still remembers the old one.
   */
  tsOffset(localAddr: number, remoteAddr: number): number {
    return this.hash3(localAddr, remoteAddr, TS_OFFSET_WORD);
  }
}
