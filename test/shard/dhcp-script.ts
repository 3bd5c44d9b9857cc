/** A scripted DHCP server for the shard tests: it offers 10.0.0.50 from 10.0.0.1, in 60 s leases. */
import { IPV4_BROADCAST, parseIpv4 } from '../../src/wire/addr.js';
import { IPPROTO_UDP } from '../../src/wire/ipv4.js';
import { BOOTP_REPLY, DHCPACK, DHCPDISCOVER, DHCPNAK, DHCPOFFER, DHCPREQUEST, dhcpMessageLength, emitDhcp, parseDhcp, type DhcpMessage } from '../../src/wire/dhcp.js';
import type { Stack } from '../../src/stack/stack.js';

export const SERVER = parseIpv4('10.0.0.1');
export const OFFERED = parseIpv4('10.0.0.50');

/** A scripted DHCP server on `stack`: OFFER and ACK (60 s leases) until `nak()` says NAK from then on. */
export function dhcpServer(stack: Stack): { requests: () => number; nak: () => void } {
  let requests = 0;
  let naking = false;
  stack.ipv4.addFilter((p, h) => {
    if (h.protocol !== IPPROTO_UDP) return false;
    const bytes = p.toBytes().subarray(h.headerLength);
    if (((bytes[2]! << 8) | bytes[3]!) !== 67) return false;
    p.release();
    const m = parseDhcp(bytes, 8, bytes.length - 8);
    if (typeof m !== 'object') return true;
    if (m.messageType === DHCPREQUEST) requests++;
    const type = m.messageType === DHCPDISCOVER ? DHCPOFFER : naking ? DHCPNAK : DHCPACK;
    const r: DhcpMessage = {
      op: BOOTP_REPLY, htype: 1, hlen: 6, hops: 0, xid: m.xid, secs: 0, broadcast: m.broadcast,
      ciaddr: m.ciaddr, yiaddr: type === DHCPNAK ? 0 : OFFERED, siaddr: 0, giaddr: 0, chaddr: m.chaddr,
      messageType: type, serverId: SERVER, subnetMask: parseIpv4('255.255.255.0'), routers: [SERVER], leaseTime: 60,
    };
    const out = new Uint8Array(dhcpMessageLength(r));
    emitDhcp(r, out, 0);
    stack.udp.sendFrom(out, SERVER, 67, m.ciaddr !== 0 && !m.broadcast ? m.ciaddr : IPV4_BROADCAST, 68);
    return true;
  });
  return { requests: () => requests, nak: () => (naking = true) };
}

