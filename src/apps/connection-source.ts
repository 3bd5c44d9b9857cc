import type { Duplex } from 'node:stream';

/**
 * What the apps attach to: a net.Server-like object that emits 'connection' with a Duplex
 * socket (node:net's Server, or Shoal's node:net-compatible one).
 */
export interface ConnectionSource {
  on(event: 'connection', listener: (socket: Duplex) => void): unknown;
}
