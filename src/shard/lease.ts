/**
 * DHCP for a host whose stacks are spread over shards (seed 001): the client runs on
 * shard 0 — steering hands it every DHCP reply and every ARP frame its conflict check
 * watches — and what it binds or loses reaches every other shard as a control message
 * on the host's mesh, which sets the same address, prefix and gateway there or takes
 * them away. Only shard 0 announces the address (StackOptions.announce).
 */
import { DhcpClient, type DhcpClientOptions } from '../stack/dhcp.js';
import type { Stack } from '../stack/stack.js';
import type { FrameForwarder } from './forward.js';

/** The mesh descriptor kind of a lease: address, prefix length, gateway (all 0: no address). */
export const DESC_LEASE = 8;

/** Makes shard `shard`'s stack take the leases shard 0 sends it (nothing to do on shard 0 itself). */
export function takeLeases(fwd: FrameForwarder, stack: Stack): void {
  const before = fwd.onOther;
  fwd.onOther = (s, at, from) => {
    if (s[at] === DESC_LEASE) stack.setAddress(s[at + 1]! >>> 0, s[at + 2]!, s[at + 3]! >>> 0);
    else before?.(s, at, from);
  };
}

/** Starts DHCP on shard 0's stack; every lease it gets or loses is sent to shards 1..shards-1. */
export function startShardedDhcp(stack: Stack, fwd: FrameForwarder, shards: number, options: DhcpClientOptions = {}): DhcpClient {
  const tell = (address: number, prefix: number, gateway: number): void => {
    for (let s = 1; s < shards; s++) fwd.control(s, DESC_LEASE, address, prefix, gateway);
  };
  const client = new DhcpClient(stack, {
    ...options,
    onBound: (lease) => {
      tell(lease.address, lease.prefix, lease.gateway);
      options.onBound?.(lease);
    },
    onLost: (why) => {
      tell(0, 0, 0);
      options.onLost?.(why);
    },
  });
  client.start();
  return client;
}
