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
 * Before a new address is used, it is checked (§4.4.1's SHOULD, RFC 5227 §2.1): three
 * ARP probes, and anyone else answering for the address or probing it too in that time
 * is a conflict: a DECLINE goes to the server and we start again ten seconds later
 * (§3.1 step 5). `release()` gives the lease back (§4.4.6). Not done: INIT-REBOOT.
 */
import type { Packet } from '../packet/packet.js';
import { IPV4_BROADCAST, readU16, writeMac, type Ipv4Address, type MacAddress } from '../wire/addr.js';
import { checksum, pseudoHeaderSum } from '../wire/checksum.js';
import {
  BOOTP_REPLY, BOOTP_REQUEST, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DHCPACK, DHCPDECLINE, DHCPDISCOVER, DHCPNAK, DHCPOFFER, DHCPRELEASE, DHCPREQUEST,
  dhcpMessageLength, emitDhcp, parseDhcp, type DhcpMessage,
} from '../wire/dhcp.js';
import { IPPROTO_UDP, type Ipv4Header } from '../wire/ipv4.js';
import { UDP_HEADER_LENGTH } from '../wire/udp.js';
import type { Timer } from '../time/timers.js';
import { leaseFrom, type DhcpLease } from './dhcp-lease.js';
import type { Stack } from './stack.js';

export { type DhcpLease } from './dhcp-lease.js';

/**
 * RFC 2131's states, with CHECKING for the ARP probes between ACK and BOUND, INIT for
 * the wait after a DECLINE, and RELEASING while a DHCPRELEASE leaves (then STOPPED).
 */
export type DhcpState = 'STOPPED' | 'INIT' | 'SELECTING' | 'REQUESTING' | 'CHECKING' | 'BOUND' | 'RENEWING' | 'REBINDING' | 'RELEASING';

export interface DhcpClientOptions {
  /** A lease was granted or extended (the address is set). */
  onBound?: (lease: DhcpLease) => void;
  /** The address was taken away (NAK, the lease ran out, stop, release). */
  onLost?: (why: 'nak' | 'expired' | 'stopped' | 'released') => void;
  /**
   * How long the ARP check of a new address lasts (ms, default 1000; 0: no check). Three
   * probes go out in that time. RFC 5227's own timing (about 7 s) is meant for slow
   * links; on a LAN an answer comes in well under a second.
   */
  probeMs?: number;
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
  /** ARP probes sent, addresses declined after a conflict, leases released. */
  probes: number;
  declines: number;
  releases: number;
}

/** RFC 2132 §9.8: subnet mask, router, DNS, domain name, MTU, lease time, T1, T2. */
const PARAMETERS = [1, 3, 6, 15, 26, 51, 58, 59];
/** REQUESTING gives up after this many retransmissions and starts again (§3.1 step 3, §4.4.1). */
const REQUEST_RETRIES = 4;
/** §4.4.5: in RENEWING and REBINDING, wait half the time left, but at least 60 s. */
const MIN_RENEW_RETRY_MS = 60_000;
/** RFC 5227 §2.1.1 PROBE_NUM. */
const PROBES = 3;
/** §3.1 step 5: after a DECLINE, wait at least ten seconds before starting again. */
const DECLINE_WAIT_MS = 10_000;
/**
 * The address outlives a RELEASE by this much: transmit is pulled, so the datagram is
 * routed (from our address) when the device takes it, after release() has returned.
 */
const RELEASE_GRACE_MS = 1;

export class DhcpClient {
  readonly counters: DhcpCounters = {
    discovers: 0, requests: 0, retransmits: 0, offers: 0, acks: 0, naks: 0, malformed: 0, ignored: 0, leases: 0, expired: 0, sendFailures: 0,
    probes: 0, declines: 0, releases: 0,
  };
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
  /** The lease being checked (CHECKING). */
  private checking: DhcpLease | null = null;
  private readonly probeMs: number;
  private readonly watcher = (spa: Ipv4Address, sha: MacAddress, tpa: Ipv4Address): void => this.arpSeen(spa, sha, tpa);
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
    this.probeMs = options.probeMs ?? 1000;
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
    this.halt('stopped');
  }

  /**
   * Gives the lease back to the server (DHCPRELEASE, §4.4.6: unicast, ciaddr ours, the
   * server's identifier) and stops: the address is removed a moment later (RELEASING,
   * then STOPPED and onLost('released')). True when a lease was held.
   */
  release(): boolean {
    const l = this.current;
    if (l === null || (this.st !== 'BOUND' && this.st !== 'RENEWING' && this.st !== 'REBINDING')) {
      this.stop();
      return false;
    }
    const now = this.stack.env.clock.now();
    const m = this.message(DHCPRELEASE, now);
    m.xid = this.stack.env.random.nextU32();
    m.secs = 0;
    m.ciaddr = l.address;
    m.serverId = l.server;
    this.counters.releases++;
    this.send(m, l.address, l.server);
    this.stack.ipv4.removeFilter(this.filter);
    this.stack.env.timers.cancel(this.leaseTimer);
    this.st = 'RELEASING';
    this.stack.env.timers.arm(this.retry, now + RELEASE_GRACE_MS);
    return true;
  }

  private halt(why: 'stopped' | 'released'): void {
    if (this.st === 'STOPPED') return;
    if (this.st !== 'RELEASING') this.stack.ipv4.removeFilter(this.filter);
    this.stack.env.timers.cancel(this.retry);
    this.stack.env.timers.cancel(this.leaseTimer);
    this.endCheck();
    const had = this.current !== null;
    this.st = 'STOPPED';
    this.current = null;
    if (had) {
      this.stack.setAddress(0, 0);
      this.options.onLost?.(why);
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
    if (this.st === 'CHECKING') {
      this.nextProbe(now);
      return;
    }
    if (this.st === 'INIT') {
      this.init(now); // the wait after a DECLINE is over
      return;
    }
    if (this.st === 'RELEASING') {
      this.halt('released');
      return;
    }
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
    this.stack.env.timers.cancel(this.retry);
    if (this.st === 'REQUESTING' && this.probeMs > 0) this.startCheck(lease, this.stack.env.clock.now());
    else this.bind(lease);
  }

  private bind(lease: DhcpLease): void {
    this.counters.leases++;
    const timers = this.stack.env.timers;
    timers.cancel(this.retry);
    const old = this.current;
    this.current = lease;
    this.st = 'BOUND';
    if (old === null || old.address !== lease.address || old.prefix !== lease.prefix || old.gateway !== lease.gateway) {
      this.stack.setAddress(lease.address, lease.prefix, lease.gateway); // and announces it (RFC 5227 §2.3)
    }
    if (lease.renewAt !== Infinity) timers.arm(this.leaseTimer, lease.renewAt);
    else timers.cancel(this.leaseTimer);
    this.options.onBound?.(lease);
  }

  // --- checking the address (RFC 5227 §2.1) ---

  private startCheck(lease: DhcpLease, now: number): void {
    this.st = 'CHECKING';
    this.checking = lease;
    this.attempt = 0;
    this.stack.arp.watcher = this.watcher;
    this.nextProbe(now);
  }

  /** A probe, PROBES of them evenly over probeMs; after the last interval, the address is ours. */
  private nextProbe(now: number): void {
    const lease = this.checking!;
    if (this.attempt === PROBES) {
      this.endCheck();
      this.bind(lease);
      return;
    }
    this.attempt++;
    this.counters.probes++;
    this.stack.arp.probe(lease.address);
    this.stack.env.timers.arm(this.retry, now + this.probeMs / PROBES);
  }

  /**
   * An ARP packet while checking: a conflict when someone else claims the address
   * (sender = it), or probes for it too (sender 0.0.0.0, target it, another MAC).
   */
  private arpSeen(spa: Ipv4Address, sha: MacAddress, tpa: Ipv4Address): void {
    const lease = this.checking;
    if (lease === null || this.st !== 'CHECKING') return;
    const mine = sha === this.stack.iface.mac;
    if (!((spa === lease.address && !mine) || (spa === 0 && tpa === lease.address && !mine))) return;
    const now = this.stack.env.clock.now();
    this.endCheck();
    // §4.4.1: DHCPDECLINE (ciaddr 0, the address in option 50, the server's identifier), then INIT after a wait.
    const m = this.message(DHCPDECLINE, now);
    m.secs = 0;
    m.requestedIp = lease.address;
    m.serverId = lease.server;
    this.counters.declines++;
    this.send(m, 0, IPV4_BROADCAST);
    this.st = 'INIT';
    this.offered = 0;
    this.stack.env.timers.arm(this.retry, now + DECLINE_WAIT_MS);
  }

  private endCheck(): void {
    this.checking = null;
    if (this.stack.arp.watcher === this.watcher) this.stack.arp.watcher = null;
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
