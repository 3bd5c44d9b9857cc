/**
 * DHCP messages (RFC 2131 §2, options RFC 2132) over the BOOTP layout (RFC 951):
 * a 236-byte fixed part, the magic cookie 99.130.83.99, then options. `sname` and
 * `file` are skipped unless option 52 says they hold options (RFC 2132 §9.3).
 */
import { readMac, readU16, readU32, writeMac, writeU16, writeU32, type Ipv4Address, type MacAddress } from './addr.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const DHCP_MAGIC_COOKIE = 0x63825363;
export const DHCP_FIXED_LENGTH = 236;
/** Fixed part and cookie: where options start. */
export const DHCP_OPTIONS_OFFSET = 240;
/** RFC 951 / RFC 1542 §3.2.1: a BOOTP message is at least 300 bytes; clients pad to it. */
export const DHCP_MIN_LENGTH = 300;

export const BOOTP_REQUEST = 1;
export const BOOTP_REPLY = 2;
export const DHCP_BROADCAST_FLAG = 0x8000;

/** Option 53 values (RFC 2132 §9.6). */
export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPDECLINE = 4;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;
export const DHCPINFORM = 8;

export const DHCPOPT_PAD = 0;
export const DHCPOPT_SUBNET_MASK = 1;
export const DHCPOPT_ROUTERS = 3;
export const DHCPOPT_DNS_SERVERS = 6;
export const DHCPOPT_HOSTNAME = 12;
export const DHCPOPT_DOMAIN_NAME = 15;
export const DHCPOPT_INTERFACE_MTU = 26;
export const DHCPOPT_REQUESTED_IP = 50;
export const DHCPOPT_LEASE_TIME = 51;
export const DHCPOPT_OVERLOAD = 52;
export const DHCPOPT_MESSAGE_TYPE = 53;
export const DHCPOPT_SERVER_ID = 54;
export const DHCPOPT_PARAMETER_REQUEST_LIST = 55;
export const DHCPOPT_MAX_MESSAGE_SIZE = 57;
export const DHCPOPT_T1 = 58;
export const DHCPOPT_T2 = 59;
export const DHCPOPT_CLIENT_ID = 61;
export const DHCPOPT_END = 255;

export interface DhcpMessage {
  op: number; // BOOTP_REQUEST or BOOTP_REPLY
  htype: number; // 1: Ethernet
  hlen: number; // 6
  hops: number;
  xid: number;
  secs: number;
  /** The broadcast bit of `flags` (RFC 2131 §4.1); the other bits must be zero. */
  broadcast: boolean;
  ciaddr: Ipv4Address;
  yiaddr: Ipv4Address;
  siaddr: Ipv4Address;
  giaddr: Ipv4Address;
  /** The first 6 bytes of `chaddr`. */
  chaddr: MacAddress;
  messageType?: number;
  subnetMask?: Ipv4Address;
  routers?: Ipv4Address[];
  dnsServers?: Ipv4Address[];
  hostname?: string;
  domainName?: string;
  interfaceMtu?: number;
  requestedIp?: Ipv4Address;
  /** Seconds; 0xffffffff is infinite. */
  leaseTime?: number;
  serverId?: Ipv4Address;
  parameterRequestList?: number[];
  maxMessageSize?: number;
  renewalTime?: number; // T1
  rebindingTime?: number; // T2
  clientId?: Uint8Array;
}

export type DhcpError = 'truncated' | 'bad-op' | 'bad-cookie' | 'bad-option';

const decoder = new TextDecoder('utf-8', { fatal: false });
const encoder = new TextEncoder();

function readAddresses(b: Uint8Array, p: number, size: number): Ipv4Address[] {
  const a: Ipv4Address[] = [];
  for (let k = 0; k < size; k += 4) a.push(readU32(b, p + k));
  return a;
}

/** NVT ASCII text; some servers count a trailing NUL (RFC 2132 §2 says they should not). */
function readText(b: Uint8Array, p: number, size: number): string {
  let n = size;
  while (n > 0 && b[p + n - 1] === 0) n--;
  return decoder.decode(b.subarray(p, p + n));
}

/**
 * Reads the options in b[p, end) into `m`; returns the overload value (option 52)
 * or an error. Options with a length their kind does not allow are skipped.
 */
function readOptions(b: Uint8Array, p: number, end: number, m: DhcpMessage): number | DhcpError {
  let overload = 0;
  while (p < end) {
    const code = b[p]!;
    if (code === DHCPOPT_END) break;
    if (code === DHCPOPT_PAD) {
      p++;
      continue;
    }
    if (p + 1 >= end) return 'bad-option';
    const size = b[p + 1]!;
    const v = p + 2;
    if (v + size > end) return 'bad-option';
    switch (code) {
      case DHCPOPT_SUBNET_MASK:
        if (size === 4) m.subnetMask = readU32(b, v);
        break;
      case DHCPOPT_ROUTERS:
        if (size >= 4 && size % 4 === 0) m.routers = readAddresses(b, v, size);
        break;
      case DHCPOPT_DNS_SERVERS:
        if (size >= 4 && size % 4 === 0) m.dnsServers = readAddresses(b, v, size);
        break;
      case DHCPOPT_HOSTNAME:
        if (size >= 1) m.hostname = readText(b, v, size);
        break;
      case DHCPOPT_DOMAIN_NAME:
        if (size >= 1) m.domainName = readText(b, v, size);
        break;
      case DHCPOPT_INTERFACE_MTU:
        if (size === 2) m.interfaceMtu = readU16(b, v);
        break;
      case DHCPOPT_REQUESTED_IP:
        if (size === 4) m.requestedIp = readU32(b, v);
        break;
      case DHCPOPT_LEASE_TIME:
        if (size === 4) m.leaseTime = readU32(b, v);
        break;
      case DHCPOPT_OVERLOAD:
        if (size === 1) overload = b[v]! & 3;
        break;
      case DHCPOPT_MESSAGE_TYPE:
        if (size === 1) m.messageType = b[v]!;
        break;
      case DHCPOPT_SERVER_ID:
        if (size === 4) m.serverId = readU32(b, v);
        break;
      case DHCPOPT_PARAMETER_REQUEST_LIST:
        if (size >= 1) m.parameterRequestList = Array.from(b.subarray(v, v + size));
        break;
      case DHCPOPT_MAX_MESSAGE_SIZE:
        if (size === 2) m.maxMessageSize = readU16(b, v);
        break;
      case DHCPOPT_T1:
        if (size === 4) m.renewalTime = readU32(b, v);
        break;
      case DHCPOPT_T2:
        if (size === 4) m.rebindingTime = readU32(b, v);
        break;
      case DHCPOPT_CLIENT_ID:
        if (size >= 2) m.clientId = b.slice(v, v + size);
        break;
    }
    p = v + size;
  }
  return overload;
}

/**
 * Parses a DHCP message (the UDP payload). A missing End option is tolerated; an
 * option running past the end of its area is 'bad-option'.
 */
export function parseDhcp(b: Uint8Array, off: number, len: number): DhcpMessage | DhcpError {
  if (len < DHCP_OPTIONS_OFFSET) return 'truncated';
  const op = b[off]!;
  if (op !== BOOTP_REQUEST && op !== BOOTP_REPLY) return 'bad-op';
  if (readU32(b, off + DHCP_FIXED_LENGTH) !== DHCP_MAGIC_COOKIE) return 'bad-cookie';
  const m: DhcpMessage = {
    op,
    htype: b[off + 1]!,
    hlen: b[off + 2]!,
    hops: b[off + 3]!,
    xid: readU32(b, off + 4),
    secs: readU16(b, off + 8),
    broadcast: (readU16(b, off + 10) & DHCP_BROADCAST_FLAG) !== 0,
    ciaddr: readU32(b, off + 12),
    yiaddr: readU32(b, off + 16),
    siaddr: readU32(b, off + 20),
    giaddr: readU32(b, off + 24),
    chaddr: readMac(b, off + 28),
  };
  const overload = readOptions(b, off + DHCP_OPTIONS_OFFSET, off + len, m);
  if (typeof overload === 'string') return overload;
  // RFC 2131 §4.1: options, then `file` (overload bit 1), then `sname` (bit 2).
  if (overload & 1) {
    const r = readOptions(b, off + 108, off + 236, m);
    if (typeof r === 'string') return r;
  }
  if (overload & 2) {
    const r = readOptions(b, off + 44, off + 108, m);
    if (typeof r === 'string') return r;
  }
  return m;
}

function textLength(s: string | undefined): number {
  return s === undefined || s.length === 0 ? 0 : 2 + Math.min(255, encoder.encode(s).length);
}

function listLength(a: readonly unknown[] | undefined, each: number): number {
  return a && a.length > 0 ? 2 + Math.min(a.length, Math.floor(255 / each)) * each : 0;
}

/** The options' length, without the End option. */
function optionsLength(m: DhcpMessage): number {
  let n = 0;
  if (m.messageType !== undefined) n += 3;
  if (m.clientId && m.clientId.length > 0) n += 2 + Math.min(255, m.clientId.length);
  if (m.requestedIp !== undefined) n += 6;
  if (m.serverId !== undefined) n += 6;
  if (m.maxMessageSize !== undefined) n += 4;
  n += textLength(m.hostname);
  n += listLength(m.parameterRequestList, 1);
  if (m.subnetMask !== undefined) n += 6;
  n += listLength(m.routers, 4);
  n += listLength(m.dnsServers, 4);
  n += textLength(m.domainName);
  if (m.interfaceMtu !== undefined) n += 4;
  if (m.leaseTime !== undefined) n += 6;
  if (m.renewalTime !== undefined) n += 6;
  if (m.rebindingTime !== undefined) n += 6;
  return n;
}

/** The length `emitDhcp` writes: fixed part, cookie, options, End, padded to 300. */
export function dhcpMessageLength(m: DhcpMessage): number {
  return Math.max(DHCP_MIN_LENGTH, DHCP_OPTIONS_OFFSET + optionsLength(m) + 1);
}

function putU32(b: Uint8Array, p: number, code: number, v: number): number {
  b[p] = code;
  b[p + 1] = 4;
  writeU32(b, p + 2, v);
  return p + 6;
}

function putU16(b: Uint8Array, p: number, code: number, v: number): number {
  b[p] = code;
  b[p + 1] = 2;
  writeU16(b, p + 2, v);
  return p + 4;
}

function putText(b: Uint8Array, p: number, code: number, s: string | undefined): number {
  if (s === undefined || s.length === 0) return p;
  const bytes = encoder.encode(s).subarray(0, 255);
  b[p] = code;
  b[p + 1] = bytes.length;
  b.set(bytes, p + 2);
  return p + 2 + bytes.length;
}

function putAddresses(b: Uint8Array, p: number, code: number, a: readonly Ipv4Address[] | undefined): number {
  if (!a || a.length === 0) return p;
  const n = Math.min(a.length, 63);
  b[p] = code;
  b[p + 1] = 4 * n;
  for (let k = 0; k < n; k++) writeU32(b, p + 2 + 4 * k, a[k]!);
  return p + 2 + 4 * n;
}

/**
 * Writes the message at `off` (option 53 first, then client id, requested IP, server
 * id, ...; text and lists longer than 255 bytes are cut), End, and zero padding to
 * 300 bytes; returns the length. `sname` and `file` are zero. Needs
 * `dhcpMessageLength(m)` bytes.
 */
export function emitDhcp(m: DhcpMessage, b: Uint8Array, off: number): number {
  const total = dhcpMessageLength(m);
  b.fill(0, off, off + total);
  b[off] = m.op;
  b[off + 1] = m.htype;
  b[off + 2] = m.hlen;
  b[off + 3] = m.hops;
  writeU32(b, off + 4, m.xid);
  writeU16(b, off + 8, m.secs);
  writeU16(b, off + 10, m.broadcast ? DHCP_BROADCAST_FLAG : 0);
  writeU32(b, off + 12, m.ciaddr);
  writeU32(b, off + 16, m.yiaddr);
  writeU32(b, off + 20, m.siaddr);
  writeU32(b, off + 24, m.giaddr);
  writeMac(b, off + 28, m.chaddr);
  writeU32(b, off + DHCP_FIXED_LENGTH, DHCP_MAGIC_COOKIE);
  let p = off + DHCP_OPTIONS_OFFSET;
  if (m.messageType !== undefined) {
    b[p] = DHCPOPT_MESSAGE_TYPE;
    b[p + 1] = 1;
    b[p + 2] = m.messageType;
    p += 3;
  }
  if (m.clientId && m.clientId.length > 0) {
    const id = m.clientId.subarray(0, 255);
    b[p] = DHCPOPT_CLIENT_ID;
    b[p + 1] = id.length;
    b.set(id, p + 2);
    p += 2 + id.length;
  }
  if (m.requestedIp !== undefined) p = putU32(b, p, DHCPOPT_REQUESTED_IP, m.requestedIp);
  if (m.serverId !== undefined) p = putU32(b, p, DHCPOPT_SERVER_ID, m.serverId);
  if (m.maxMessageSize !== undefined) p = putU16(b, p, DHCPOPT_MAX_MESSAGE_SIZE, m.maxMessageSize);
  p = putText(b, p, DHCPOPT_HOSTNAME, m.hostname);
  const prl = m.parameterRequestList;
  if (prl && prl.length > 0) {
    const n = Math.min(prl.length, 255);
    b[p] = DHCPOPT_PARAMETER_REQUEST_LIST;
    b[p + 1] = n;
    for (let k = 0; k < n; k++) b[p + 2 + k] = prl[k]!;
    p += 2 + n;
  }
  if (m.subnetMask !== undefined) p = putU32(b, p, DHCPOPT_SUBNET_MASK, m.subnetMask);
  p = putAddresses(b, p, DHCPOPT_ROUTERS, m.routers);
  p = putAddresses(b, p, DHCPOPT_DNS_SERVERS, m.dnsServers);
  p = putText(b, p, DHCPOPT_DOMAIN_NAME, m.domainName);
  if (m.interfaceMtu !== undefined) p = putU16(b, p, DHCPOPT_INTERFACE_MTU, m.interfaceMtu);
  if (m.leaseTime !== undefined) p = putU32(b, p, DHCPOPT_LEASE_TIME, m.leaseTime);
  if (m.renewalTime !== undefined) p = putU32(b, p, DHCPOPT_T1, m.renewalTime);
  if (m.rebindingTime !== undefined) p = putU32(b, p, DHCPOPT_T2, m.rebindingTime);
  b[p] = DHCPOPT_END;
  return total;
}
