/** Whole Ethernet frames for tests, built with the wire emitters and correct checksums. */
import { emitEthernet, ETHERNET_HEADER_LENGTH, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../../src/wire/ethernet.js';
import { emitIpv4Header, IPPROTO_TCP, IPPROTO_UDP, IPV4_HEADER_LENGTH } from '../../src/wire/ipv4.js';
import { emitTcp, tcpHeaderLength, writeTcpChecksum, type TcpFields } from '../../src/wire/tcp.js';
import { emitUdp, UDP_HEADER_LENGTH, writeUdpChecksum } from '../../src/wire/udp.js';
import { ARP_LENGTH, ARP_OP_REQUEST, emitArp } from '../../src/wire/arp.js';
import { MAC_BROADCAST, type Ipv4Address, type MacAddress } from '../../src/wire/addr.js';

export interface Endpoints {
  srcMac: MacAddress;
  dstMac: MacAddress;
  src: Ipv4Address;
  dst: Ipv4Address;
}

function ipv4(e: Endpoints, protocol: number, payloadLength: number, b: Uint8Array, id = 1): number {
  emitEthernet({ dst: e.dstMac, src: e.srcMac, ethertype: ETHERTYPE_IPV4 }, b, 0);
  emitIpv4Header(
    { dscp: 0, ecn: 0, totalLength: IPV4_HEADER_LENGTH + payloadLength, id, df: true, mf: false, fragmentOffset: 0, ttl: 64, protocol, src: e.src, dst: e.dst },
    b,
    ETHERNET_HEADER_LENGTH,
  );
  return ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH;
}

export function udpFrame(e: Endpoints, srcPort: number, dstPort: number, payload: Uint8Array, id = 1): Uint8Array {
  const len = UDP_HEADER_LENGTH + payload.length;
  const b = new Uint8Array(ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH + len);
  const at = ipv4(e, IPPROTO_UDP, len, b, id);
  emitUdp({ srcPort, dstPort, length: len }, b, at);
  b.set(payload, at + UDP_HEADER_LENGTH);
  writeUdpChecksum(e.src, e.dst, b, at, len);
  return b;
}

export function tcpFrame(e: Endpoints, h: TcpFields, payload: Uint8Array = new Uint8Array(0), id = 1): Uint8Array {
  const hl = tcpHeaderLength(h);
  const len = hl + payload.length;
  const b = new Uint8Array(ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH + len);
  const at = ipv4(e, IPPROTO_TCP, len, b, id);
  emitTcp(h, b, at);
  b.set(payload, at + hl);
  writeTcpChecksum(e.src, e.dst, b, at, len);
  return b;
}

export function arpRequest(srcMac: MacAddress, spa: Ipv4Address, tpa: Ipv4Address): Uint8Array {
  const b = new Uint8Array(ETHERNET_HEADER_LENGTH + ARP_LENGTH);
  emitEthernet({ dst: MAC_BROADCAST, src: srcMac, ethertype: ETHERTYPE_ARP }, b, 0);
  emitArp({ op: ARP_OP_REQUEST, sha: srcMac, spa, tha: 0, tpa }, b, ETHERNET_HEADER_LENGTH);
  return b;
}
