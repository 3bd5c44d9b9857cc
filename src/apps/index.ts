/** The applications: servers written against node:net / node:dgram / node:http interfaces. */
export type { ConnectionSource } from './connection-source.js';
export * from './memcached/index.js';
export * from './http/index.js';
export { serveTcpEcho, serveUdpEcho, type DatagramSocket } from './echo.js';
