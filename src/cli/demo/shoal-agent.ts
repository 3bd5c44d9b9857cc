/**
 * An http.Agent whose connections are Shoal sockets: node:http's client (keep-alive,
 * pooling, parsing) runs unchanged on a Shoal host (test/api/http.test.ts shows it).
 * It keeps the sockets it made until they close, so a load can wait for them to go.
 */

import { Agent, type AgentOptions, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Net, Socket } from '../../api/net/index.js';

export class ShoalAgent extends Agent {
  /** Sockets made and not closed yet. */
  readonly live = new Set<Socket>();
  /** Sockets made. */
  opened = 0;
  private onEmpty: (() => void) | null = null;

  constructor(
    private readonly net: Net,
    options: AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: ClientRequestArgs): Duplex {
    const socket = this.net.createConnection({ port: Number(options.port), host: String(options.host), noDelay: true });
    this.opened++;
    this.live.add(socket);
    socket.once('close', () => {
      this.live.delete(socket);
      if (this.live.size === 0 && this.onEmpty !== null) this.onEmpty();
    });
    return socket;
  }

  /** Resolves once every socket made is closed, or after `timeoutMs` (destroying the rest). */
  allClosed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.live.size === 0) return resolve();
      const timer = setTimeout(() => {
        for (const s of this.live) s.destroy();
        this.onEmpty = null;
        resolve();
      }, timeoutMs);
      this.onEmpty = () => {
        clearTimeout(timer);
        this.onEmpty = null;
        resolve();
      };
    });
  }
}
