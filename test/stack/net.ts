/** Small simulated networks of Shoal stacks on the memory link, in virtual time. */
import { MemoryDevice, MemoryWire, type FaultConfig, type MemoryDeviceOptions } from '../../src/link/memory/index.js';
import { EventLoop } from '../../src/time/loop.js';
import { VirtualClock } from '../../src/time/clock.js';
import { Stack, type StackOptions } from '../../src/stack/stack.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { CaptureDevice } from '../../src/link/capture.js';
import type { PcapWriter } from '../../src/link/pcap.js';

export const IP_A = parseIpv4('10.0.0.1');
export const IP_B = parseIpv4('10.0.0.2');

export interface TwoStacks {
  clock: VirtualClock;
  loop: EventLoop;
  a: Stack;
  b: Stack;
  devA: MemoryDevice;
  devB: MemoryDevice;
  wire: MemoryWire;
  /** Runs until `done()` holds or `ms` of virtual time pass; returns done(). */
  run(done?: () => boolean, ms?: number): boolean;
}

export interface TwoStacksOptions {
  seed?: number;
  aToB?: FaultConfig;
  bToA?: FaultConfig;
  device?: Partial<MemoryDeviceOptions>;
  stack?: Partial<StackOptions>;
  /** Captures what stack A sends and receives. */
  captureA?: PcapWriter;
}

/** Stacks A (10.0.0.1/24) and B (10.0.0.2/24) on a memory wire. */
export function twoStacks(o: TwoStacksOptions = {}): TwoStacks {
  const seed = o.seed ?? 1;
  const clock = new VirtualClock();
  const loop = new EventLoop(clock);
  const devA = new MemoryDevice({ name: 'a', mac: 0x02_00_00_00_00_01, ...o.device });
  const devB = new MemoryDevice({ name: 'b', mac: 0x02_00_00_00_00_02, ...o.device });
  const wire = new MemoryWire(devA, devB, { aToB: o.aToB, bToA: o.bToA, seed });
  // wake: what the test does between passes (a write, a close) gets a pass, as the real loop would.
  const wake = (): void => loop.wake();
  const a = new Stack({ device: o.captureA ? new CaptureDevice(devA, o.captureA, clock) : devA, address: '10.0.0.1/24', clock, timers: loop.timers, seed: seed * 2 + 1, wake, ...o.stack });
  const b = new Stack({ device: devB, address: '10.0.0.2/24', clock, timers: loop.timers, seed: seed * 2 + 2, wake, ...o.stack });
  for (const p of wire.pollables()) loop.add(p);
  const run = (done?: () => boolean, ms = 60_000): boolean => {
    const until = clock.now() + ms;
    loop.runUntil({ until, done });
    return done ? done() : true;
  };
  return { clock, loop, a, b, devA, devB, wire, run };
}
