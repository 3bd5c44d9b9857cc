/**
 * Echo servers (RFC 862): TCP echoes each connection's bytes back through pipe(), whose
 * back pressure pauses reading while the socket cannot take more, and ends its side when
 * the client ends its; UDP sends each datagram back to where it came from.
 */

import type { ConnectionSource } from './connection-source.js';

/** Echoes every connection of `server`. */
export function serveTcpEcho(server: ConnectionSource): void {
  server.on('connection', (socket) => {
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
}

/** The parts of a node:dgram Socket the UDP echo uses. */
export interface DatagramSocket {
  on(event: 'message', listener: (msg: Buffer, rinfo: { address: string; port: number }) => void): unknown;
  send(msg: Uint8Array, port: number, address: string, callback?: (error: Error | null) => void): void;
}

/** Echoes every datagram `socket` receives; returns the count of datagrams echoed and of sends that failed. */
export function serveUdpEcho(socket: DatagramSocket): { echoed: number; failed: number } {
  const counts = { echoed: 0, failed: 0 };
  socket.on('message', (msg, rinfo) => {
    // With a callback a failed send is reported here instead of as an 'error' event.
    socket.send(msg, rinfo.port, rinfo.address, (error) => {
      if (error === null || error === undefined) counts.echoed++;
      else counts.failed++;
    });
  });
  return counts;
}
