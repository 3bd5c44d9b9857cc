/**
 * Serving the http app on anything that emits 'connection' with a Duplex socket: a
 * node:http Server does the HTTP; each socket of the net.Server-like object is handed to it
 * with emit('connection'), as node:http itself is fed by node:net.
 */

import { createServer, type Server, type ServerOptions } from 'node:http';
import type { ConnectionSource } from '../connection-source.js';
import { createHttpHandler, type HttpAppOptions } from './handler.js';

export interface ServeHttpOptions extends HttpAppOptions {
  /** Options of the node:http Server (timeouts, header limits, …). */
  http?: ServerOptions;
}

/** Serves the http app on every connection of `server`; returns the node:http Server doing it. */
export function serveHttp(server: ConnectionSource, options: ServeHttpOptions): Server {
  const http = createServer(options.http ?? {}, createHttpHandler(options));
  server.on('connection', (socket) => http.emit('connection', socket));
  return http;
}
