/**
 * Serving memcached on anything that emits 'connection' with a Duplex socket: node:net's
 * Server, or Shoal's node:net-compatible one. Each socket gets a session. Back pressure:
 * when the socket's write() returns false the session stops and reading pauses, until
 * 'drain'; so neither the session's input nor the socket's output grows without bound.
 */

import type { Duplex } from 'node:stream';
import type { ConnectionSource } from '../connection-source.js';
import { Memcached, type MemcachedOptions } from './memcached.js';
import type { SessionRouter } from './session.js';

export interface ServeMemcachedOptions extends MemcachedOptions {
  /** Serve this instance (default: a new one made from the other options). */
  cache?: Memcached;
  /** Where commands for keys of other shards go (ShardedMemcached.router). */
  router?: SessionRouter;
}

/** Serves memcached's text protocol on every connection of `server`; returns the instance. */
export function serveMemcached(server: ConnectionSource, options: ServeMemcachedOptions = {}): Memcached {
  const cache = options.cache ?? new Memcached(options);
  const router = options.router ?? null;
  server.on('connection', (socket) => attachSession(cache, socket, router));
  return cache;
}

function attachSession(cache: Memcached, socket: Duplex, router: SessionRouter | null): void {
  const session = cache.openSession(
    {
      write: (bytes) => socket.write(bytes),
      end: () => {
        if (!socket.writableEnded) socket.end();
      },
      // A command answered by another shard came back: go on with what waited behind it.
      wake: () => run(() => session.resume()),
    },
    router,
  );
  // Replies to the commands of one chunk leave together (writev), not one write each.
  const run = (step: () => boolean): void => {
    socket.cork();
    const caughtUp = step();
    socket.uncork();
    if (caughtUp) {
      if (socket.isPaused()) socket.resume();
    } else {
      socket.pause();
    }
  };
  socket.on('data', (chunk: Buffer) => run(() => session.feed(chunk)));
  socket.on('drain', () => {
    if (session.paused) run(() => session.resume());
  });
  // The client ended its side: the connection ends once what it sent is answered.
  socket.on('end', () => session.finish());
  socket.on('close', () => session.close());
  // A reset or a write after the peer went: the session ends with the socket ('close').
  socket.on('error', () => {});
}
