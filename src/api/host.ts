/**
 * A host: one Stack driven by an EventLoop in real time, the thing applications talk
 * to (src/api). The loop wakes when the application hands the stack work (a write, a
 * connect) and sleeps until the next timer otherwise; several hosts may share one loop
 * (every stack on a memory switch in one process).
 */

import type { Device } from '../link/device.js';
import { RealClock } from '../time/clock.js';
import { EventLoop } from '../time/loop.js';
import { Stack, type StackOptions } from '../stack/stack.js';
import { Dgram } from './dgram/index.js';
import { Net } from './net/index.js';
import { CompletionQueue, type CompletionQueueOptions } from './zero-copy/index.js';

export interface HostOptions extends Omit<StackOptions, 'clock' | 'timers' | 'wake'> {
  device: Device;
  /** The loop that drives this host (default: a new one on the real clock, started). */
  loop?: EventLoop;
}

export class Host {
  readonly loop: EventLoop;
  readonly stack: Stack;
  private netApi: Net | null = null;
  private dgramApi: Dgram | null = null;

  constructor(options: HostOptions) {
    const { loop: given, ...stackOptions } = options;
    const loop = given ?? new EventLoop(new RealClock());
    this.loop = loop;
    this.stack = new Stack({ ...stackOptions, clock: loop.clock, timers: loop.timers, wake: () => loop.wake() });
    if (given === undefined) loop.start();
  }

  /** The node:net-compatible API on this host (createServer, connect, Socket, Server). */
  get net(): Net {
    return (this.netApi ??= new Net(this.stack));
  }

  /** The node:dgram-compatible API on this host (createSocket). */
  get dgram(): Dgram {
    return (this.dgramApi ??= new Dgram(this.stack));
  }

  /** A zero-copy completion queue on this host (libVMA's SocketXtreme model). */
  completions(options?: CompletionQueueOptions): CompletionQueue {
    return new CompletionQueue(this.stack, options);
  }

  /** Stops the stack: every connection and socket is dropped, the device let go. */
  close(): void {
    this.stack.close();
  }
}
