/**
 * A DHCP client for one stack (RFC 2131), on shard 0 (DESIGN.md). Sans-IO: it sends
 * through Udp.sendFrom (from 0.0.0.0 before we have an address), receives through an
 * IPv4 packet filter (which sees datagrams before the address checks), and times
 * everything with the stack's clock and timers, so it runs in virtual time.
 *
 * INIT → SELECTING (DISCOVER) → REQUESTING (REQUEST for the first OFFER) → BOUND
 * (address set) → RENEWING at T1 (REQUEST unicast to the server) → REBINDING at T2
 * (REQUEST broadcast) → the lease ends: the address is removed and we start again.
 * A NAK sends us back to INIT at once (§3.1 step 5, §4.4.4).
 *
 * Not done: the ARP probe of the offered address and DECLINE (§4.4.1's SHOULD),
 * INIT-REBOOT, RELEASE.
 */
import type { Packet } from '../packet/packet.js';
import { IPV4_BROADCAST, readU16, writeMac, type Ipv4Address } from '../wire/addr.js';
import { checksum, pseudoHeaderSum } from '../wire/checksum.js';
import {
  BOOTP_REPLY, BOOTP_REQUEST, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DHCPACK, DHCPDISCOVER, DHCPNAK, DHCPOFFER, DHCPREQUEST,
  dhcpMessageLength, emitDhcp, parseDhcp, type DhcpMessage,
} from '../wire/dhcp.js';
import { IPPROTO_UDP, type Ipv4Header } from '../wire/ipv4.js';
import { UDP_HEADER_LENGTH } from '../wire/udp.js';
import type { Timer } from '../time/timers.js';
import { leaseFrom, type DhcpLease } from './dhcp-lease.js';
import type { Stack } from './stack.js';

export { type DhcpLease } from './dhcp-lease.js';

export type DhcpState = 'STOPPED' | 'INIT' | 'SELECTING' | 'REQUESTING' | 'BOUND' | 'RENEWING' | 'REBINDING';

export interface DhcpClientOptions {
  /** A lease was granted or extended (the address is set). */
  onBound?: (lease: DhcpLease) => void;
  /** The address was taken away (NAK, the lease ran out, stop). */
  onLost?: (why: 'nak' | 'expired' | 'stopped') => void;
}

export interface DhcpCounters {
  discovers: number;
  requests: number;
  retransmits: number;
  offers: number;
  acks: number;
  naks: number;
  /** Replies for us that could not be used: bad checksum, not DHCP, an unusable ACK. */
  malformed: number;
  /** Replies of our exchange that our state does not expect (an OFFER while REQUESTING). */
  ignored: number;
  leases: number;
  expired: number;
  sendFailures: number;
}

/** RFC 2132 §9.8: subnet mask, router, DNS, domain name, MTU, lease time, T1, T2. */
const PARAMETERS = [1, 3, 6, 15, 26, 51, 58, 59];
/** REQUESTING gives up after this many retransmissions and starts again (§3.1 step 3, §4.4.1). */
const REQUEST_RETRIES = 4;
/** §4.4.5: in RENEWING and REBINDING, wait half the time left, but at least 60 s. */
const MIN_RENEW_RETRY_MS = 60_000;

export class DhcpClient {
  readonly counters: DhcpCounters = { discovers: 0, requests: 0, retransmits: 0, offers: 0, acks: 0, naks: 0, malformed: 0, ignored: 0, leases: 0, expired: 0, sendFailures: 0 };
  private st: DhcpState = 'STOPPED';
  private xid = 0;
  /** Retransmissions of the current message. */
  private attempt = 0;
  /** When the exchange began (for `secs`, §4.1) and when the last REQUEST left (lease times, §4.4.1). */
  private startedAt = 0;
  private requestSentAt = 0;
  private offered: Ipv4Address = 0;
  private offerServer: Ipv4Address = 0;
  private current: DhcpLease | null = null;
  private readonly retry: Timer;
  private readonly leaseTimer: Timer;
  private readonly clientId: Uint8Array;
  private readonly filter = (p: Packet, h: Ipv4Header, now: number): boolean => this.claim(p, h, now);

  constructor(
    private readonly stack: Stack,
    private readonly options: DhcpClientOptions = {},
  ) {
    const timers = stack.env.timers;
    this.retry = timers.create((now) => this.retransmit(now));
    this.leaseTimer = timers.create((now) => this.leaseEvent(now));
    // RFC 2132 §9.14: type 1 (Ethernet), then the MAC.
    this.clientId = new Uint8Array(7);
    this.clientId[0] = 1;
    writeMac(this.clientId, 1, stack.iface.mac);
  }

  get state(): DhcpState {
    return this.st;
  }

  get lease(): DhcpLease | null {
    return this.current;
  }

  start(): void {
    if (this.st !== 'STOPPED') return;
    this.stack.ipv4.addFilter(this.filter);
    this.init(this.stack.env.clock.now());
  }

  /** Stops the client; an address it set is removed (the lease is no longer kept up). */
  stop(): void {
    if (this.st === 'STOPPED') return;
    this.stack.ipv4.removeFilter(this.filter);
    this.stack.env.timers.cancel(this.retry);
    this.stack.env.timers.cancel(this.leaseTimer);
    const had = this.current !== null;
    this.st = 'STOPPED';
    this.current = null;
    if (had) {
      this.stack.setAddress(0, 0);
      this.options.onLost?.('stopped');
    }
  }

  // --- the state machine ---

  /** INIT: a new exchange, DISCOVER (§4.4.1). */
  private init(now: number): void {
    this.st = 'SELECTING';
    this.xid = this.stack.env.random.nextU32();
    this.startedAt = now;
    this.attempt = 0;
    this.offered = 0;
    this.sendDiscover(now);
  }

  private retransmit(now: number): void {
    this.counters.retransmits++;
    this.attempt++;
    switch (this.st) {
      case 'SELECTING':
        this.sendDiscover(now);
        return;
      case 'REQUESTING':
        if (this.attempt > REQUEST_RETRIES) this.init(now);
        else this.sendSelectingRequest(now);
        return;
      case 'RENEWING':
      case 'REBINDING':
        this.sendLeaseRequest(now);
        return;
      default:
        return;
    }
  }

  /** T1, T2, or the end of the lease, whichever is next (§4.4.5). */
  private leaseEvent(now: number): void {
    const l = this.current;
    if (l === null) return;
    if (now >= l.expiresAt) {
      this.counters.expired++;
      this.current = null;
      this.stack.env.timers.cancel(this.retry);
      this.stack.setAddress(0, 0);
      this.options.onLost?.('expired');
      this.init(now);
      return;
    }
    if (now >= l.rebindAt) {
      if (this.st !== 'REBINDING') this.enterLeaseState('REBINDING', now);
      this.stack.env.timers.arm(this.leaseTimer, l.expiresAt);
      return;
    }
    if (now >= l.renewAt) {
      if (this.st === 'BOUND') this.enterLeaseState('RENEWING', now);
      this.stack.env.timers.arm(this.leaseTimer, l.rebindAt);
      return;
    }
    this.stack.env.timers.arm(this.leaseTimer, l.renewAt);
  }

  private enterLeaseState(st: 'RENEWING' | 'REBINDING', now: number): void {
    this.st = st;
    this.xid = this.stack.env.random.nextU32();
    this.startedAt = now;
    this.attempt = 0;
    this.sendLeaseRequest(now);
  }

  private onOffer(m: DhcpMessage, src: Ipv4Address, now: number): void {
    if (this.st !== 'SELECTING' || m.yiaddr === 0) {
      this.counters.ignored++;
      return;
    }
    this.counters.offers++;
    // §4.4.1: the first acceptable offer; the REQUEST keeps the offer's xid.
    this.offered = m.yiaddr;
    this.offerServer = m.serverId ?? src;
    this.st = 'REQUESTING';
    this.attempt = 0;
    this.sendSelectingRequest(now);
  }

  private onAck(m: DhcpMessage, src: Ipv4Address): void {
    if (this.st !== 'REQUESTING' && this.st !== 'RENEWING' && this.st !== 'REBINDING') {
      this.counters.ignored++;
      return;
    }
    const server = this.st === 'REQUESTING' ? this.offerServer : src;
    const lease = leaseFrom(m, server, this.requestSentAt);
    if (lease === null) {
      this.counters.malformed++;
      return;
    }
    this.counters.acks++;
    this.counters.leases++;
    const timers = this.stack.env.timers;
    timers.cancel(this.retry);
    const old = this.current;
    this.current = lease;
    this.st = 'BOUND';
    if (old === null || old.address !== lease.address || old.prefix !== lease.prefix || old.gateway !== lease.gateway) {
      this.stack.setAddress(lease.address, lease.prefix, lease.gateway);
    }
    if (lease.renewAt !== Infinity) timers.arm(this.leaseTimer, lease.renewAt);
    else timers.cancel(this.leaseTimer);
    this.options.onBound?.(lease);
  }

  private onNak(now: number): void {
    if (this.st !== 'REQUESTING' && this.st !== 'RENEWING' && this.st !== 'REBINDING') {
      this.counters.ignored++;
      return;
    }
    this.counters.naks++;
    const timers = this.stack.env.timers;
    timers.cancel(this.retry);
    timers.cancel(this.leaseTimer);
    if (this.current !== null) {
      this.current = null;
      this.stack.setAddress(0, 0);
      this.options.onLost?.('nak');
    }
    // §3.1 step 5 / §4.4.4: restart the configuration process.
    this.init(now);
  }

  // --- sending ---

  /** §4.1: 4, 8, 16, 32, then 64 s, each ±1 s chosen uniformly. */
  private backoff(): number {
    const base = 4000 * 2 ** Math.min(this.attempt, 4);
    return base - 1000 + this.stack.env.random.int(2001);
  }

  private message(type: number, now: number): DhcpMessage {
    return {
      op: BOOTP_REQUEST, htype: 1, hlen: 6, hops: 0, xid: this.xid,
      secs: Math.min(0xffff, Math.floor((now - this.startedAt) / 1000)),
      broadcast: false, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0,
      chaddr: this.stack.iface.mac,
      messageType: type, clientId: this.clientId,
    };
  }

  private sendDiscover(now: number): void {
    const m = this.message(DHCPDISCOVER, now);
    // §4.1: we cannot receive unicast before we have an address: ask for broadcast.
    m.broadcast = true;
    m.parameterRequestList = PARAMETERS;
    this.counters.discovers++;
    this.send(m, 0, IPV4_BROADCAST);
    this.stack.env.timers.arm(this.retry, now + this.backoff());
  }

  /** §4.3.2 SELECTING: the offered address (option 50) and the chosen server (option 54), ciaddr 0. */
  private sendSelectingRequest(now: number): void {
    const m = this.message(DHCPREQUEST, now);
    m.broadcast = true;
    m.requestedIp = this.offered;
    m.serverId = this.offerServer;
    m.parameterRequestList = PARAMETERS;
    this.counters.requests++;
    this.requestSentAt = now;
    this.send(m, 0, IPV4_BROADCAST);
    this.stack.env.timers.arm(this.retry, now + this.backoff());
  }

  /**
   * §4.3.2 RENEWING (unicast to the server) and REBINDING (broadcast): ciaddr is our
   * address, no option 50 or 54. Retransmitted after half the time to T2 (RENEWING)
   * or to the end of the lease (REBINDING), at least 60 s (§4.4.5).
   */
  private sendLeaseRequest(now: number): void {
    const l = this.current!;
    const m = this.message(DHCPREQUEST, now);
    m.ciaddr = l.address;
    m.parameterRequestList = PARAMETERS;
    this.counters.requests++;
    this.requestSentAt = now;
    const renewing = this.st === 'RENEWING';
    this.send(m, l.address, renewing ? l.server : IPV4_BROADCAST);
    const until = renewing ? l.rebindAt : l.expiresAt;
    const wait = Math.max(MIN_RENEW_RETRY_MS, (until - now) / 2);
    // The lease timer takes over at T2 or the end; no retransmission past it.
    if (now + wait < until) this.stack.env.timers.arm(this.retry, now + wait);
    else this.stack.env.timers.cancel(this.retry);
  }

  private send(m: DhcpMessage, src: Ipv4Address, dst: Ipv4Address): void {
    const b = new Uint8Array(dhcpMessageLength(m));
    emitDhcp(m, b, 0);
    if (!this.stack.udp.sendFrom(b, src, DHCP_CLIENT_PORT, dst, DHCP_SERVER_PORT)) this.counters.sendFailures++;
  }

  // --- receiving ---

  /**
   * The IPv4 filter: claims an unfragmented UDP datagram to port 68, sent to the
   * broadcast address, to the address offered to us, or to ours, when it is a reply
   * to our exchange (our xid and MAC); a reply for another exchange is left to the
   * stack. A malformed one is counted and dropped.
   */
  private claim(p: Packet, h: Ipv4Header, now: number): boolean {
    if (h.protocol !== IPPROTO_UDP || h.mf || h.fragmentOffset !== 0) return false;
    const dst = h.dst;
    if (dst !== IPV4_BROADCAST && (dst === 0 || (dst !== this.offered && dst !== this.stack.ipv4.address))) return false;
    const hl = h.headerLength;
    if (p.length < hl + UDP_HEADER_LENGTH) return false;
    const head = p.front(hl + UDP_HEADER_LENGTH);
    const b0 = p.bufs[0]!;
    if (readU16(b0, head + hl + 2) !== DHCP_CLIENT_PORT || readU16(b0, head + hl) !== DHCP_SERVER_PORT) return false;
    const bytes = new Uint8Array(p.length - hl);
    p.copyTo(bytes, 0, hl);
    const length = readU16(bytes, 4);
    const m =
      length < UDP_HEADER_LENGTH || length > bytes.length
        ? 'truncated'
        : !p.csumVerified && readU16(bytes, 6) !== 0 && checksum(bytes, 0, length, pseudoHeaderSum(h.src, dst, IPPROTO_UDP, length)) !== 0
          ? 'bad-checksum'
          : parseDhcp(bytes, UDP_HEADER_LENGTH, length - UDP_HEADER_LENGTH);
    if (typeof m === 'string' || m.op !== BOOTP_REPLY) {
      this.counters.malformed++;
      p.release();
      return true;
    }
    if (m.xid !== this.xid || m.chaddr !== this.stack.iface.mac) return false;
    p.release();
    if (m.messageType === DHCPOFFER) this.onOffer(m, h.src, now);
    else if (m.messageType === DHCPACK) this.onAck(m, h.src);
    else if (m.messageType === DHCPNAK) this.onNak(now);
    else this.counters.malformed++;
    return true;
  }
}
