/**
 * Turns what a stack socket received into 'message' (and 'error') events, outside the
 * stack's receive path: an application's handler never runs inside a burst.
 *
 * Node emits each datagram from its own callback into JavaScript, so the nextTick and
 * microtask queues drain between two 'message' events (a send callback made in one
 * handler comes before the next message). Here each event gets its own setImmediate
 * for the same effect; up to 32 are scheduled at a time, as libuv reads up to 32
 * datagrams per poll (uv__udp_recvmsg). A pending error is reported before the queued
 * datagrams, as recvmsg reports it. Closing the socket stops what is scheduled.
 */

import { Buffer } from 'node:buffer';
import { formatIpv4 } from '../../wire/addr.js';
import type { UdpSocket } from '../../stack/udp.js';
import type { RemoteInfo } from './types.js';

const EVENTS_SCHEDULED = 32;

export interface PumpTarget {
  message(msg: Buffer, rinfo: RemoteInfo): void;
  error(code: string): void;
}

export class ReceivePump {
  private scheduled = 0;
  private running = false;
  private error: string | null = null;

  constructor(
    private readonly handle: UdpSocket,
    private readonly target: PumpTarget,
  ) {}

  start(): void {
    this.running = true;
    this.handle.onReadable = () => this.schedule();
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.handle.onReadable = null;
  }

  private schedule(): void {
    if (!this.running) return;
    this.error ??= this.handle.takeError();
    const ready = Math.min(EVENTS_SCHEDULED, this.handle.queued + (this.error !== null ? 1 : 0));
    for (; this.scheduled < ready; this.scheduled++) setImmediate(this.step);
  }

  private readonly step = (): void => {
    this.scheduled--;
    if (!this.running) return;
    try {
      const error = this.error;
      if (error !== null) {
        this.error = null;
        this.target.error(error);
        return;
      }
      const d = this.handle.receive();
      if (d === null) return;
      const msg = Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength);
      this.target.message(msg, { address: formatIpv4(d.address), family: 'IPv4', port: d.port, size: msg.length });
    } finally {
      // Also after a handler threw (an uncaught exception, as in Node): what waits still gets its turn.
      this.schedule();
    }
  };
}
