/**
 * A TAP test's world: its own network namespace (shoal-tap-<random>) holding the TAP's
 * kernel side at 10.77.0.1/24, every address inside it; Shoal at 10.77.0.2/24 on the
 * other end, in this process. The TAP is created here (the fd is ours) and moved into
 * the namespace at once, before it is up or has an address; the fd keeps working
 * after the move. Kernel-side commands run with `ip netns exec`. Everything is undone
 * in `close()`, also after a failure: the processes started here are killed by PID, the
 * TAP closed (a TAP no fd holds goes away), the namespace deleted.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { Host } from '../../src/api/host.js';
import { TapDevice, type TapDeviceOptions } from '../../src/link/tap/device.js';
import { tapUnavailable } from '../../src/link/tap/native.js';
import { RealClock } from '../../src/time/clock.js';
import { EventLoop } from '../../src/time/loop.js';
import { hasCommand, requireOrSkip } from '../support/require.js';

const run = promisify(execFile);

export const KERNEL_IP = '10.77.0.1';
export const SHOAL_IP = '10.77.0.2';

/** Why TAP tests cannot run here, or null when they can. */
export function tapTestsUnavailable(): string | null {
  const why = tapUnavailable();
  if (why !== null) return why;
  if (!hasCommand('ip')) return 'ip is not installed (apt-get install iproute2)';
  return null;
}

/** True when the test may go on (else skipped with the reason, or failed under CI). */
export function requireTap(t: TestContext, ...commands: string[]): boolean {
  const why = tapTestsUnavailable();
  if (!requireOrSkip(t, why === null, why ?? '')) return false;
  for (const c of commands) if (!requireOrSkip(t, hasCommand(c), `${c} is not installed (see .ci/run for the Debian package)`)) return false;
  return true;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export class TapWorld {
  readonly ns = `shoal-tap-${randomBytes(4).toString('hex')}`;
  readonly tapName = `shtap${randomBytes(4).toString('hex')}`;
  tap: TapDevice | null = null;
  loop: EventLoop | null = null;
  host: Host | null = null;
  private nsCreated = false;
  private readonly children = new Set<ChildProcess>();

  /**
   * Builds the world; on failure, what was built is undone before the error is thrown.
   * `shoalAddress` null: the Shoal host starts with no address (for DHCP).
   */
  static async create(options: Omit<TapDeviceOptions, 'name'> = {}, seed = 1, shoalAddress: string | null = `${SHOAL_IP}/24`): Promise<TapWorld> {
    const w = new TapWorld();
    try {
      await w.setUp(options, seed, shoalAddress);
    } catch (e) {
      await w.close();
      throw e;
    }
    return w;
  }

  private async setUp(options: Omit<TapDeviceOptions, 'name'>, seed: number, shoalAddress: string | null): Promise<void> {
    await run('ip', ['netns', 'add', this.ns]);
    this.nsCreated = true;
    // No IPv6 in the namespace: the kernel would send router solicitations and MLD
    // reports down the TAP, which Shoal (IPv4 only) would just count and drop.
    if (existsSync('/proc/sys/net/ipv6')) {
      await this.exec('sh', ['-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6']);
    }
    this.tap = TapDevice.open({ ...options, name: this.tapName });
    await run('ip', ['link', 'set', this.tapName, 'netns', this.ns]);
    await run('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    if (options.mtu !== undefined) await run('ip', ['-n', this.ns, 'link', 'set', this.tapName, 'mtu', String(options.mtu)]);
    await run('ip', ['-n', this.ns, 'addr', 'add', `${KERNEL_IP}/24`, 'dev', this.tapName]);
    await run('ip', ['-n', this.ns, 'link', 'set', this.tapName, 'up']);
    this.loop = new EventLoop(new RealClock());
    this.tap.attach(this.loop);
    this.host = new Host({ device: this.tap, ...(shoalAddress !== null ? { address: shoalAddress } : {}), loop: this.loop, seed });
    this.loop.start();
  }

  /** Runs a command in the namespace (bounded in time); rejects on a non-zero exit. */
  exec(cmd: string, args: string[], timeoutMs = 30_000): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.ns, cmd, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 });
  }

  /** Starts a process in the namespace (`ip netns exec` execs it: the PID is the command's), killed by PID at close. */
  spawn(cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Undoes everything, whatever state it is in. */
  async close(): Promise<void> {
    for (const child of this.children) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, 'SIGKILL');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
    this.loop?.stop();
    this.host?.close();
    this.tap?.close();
    if (this.nsCreated) {
      await run('ip', ['netns', 'del', this.ns]);
      this.nsCreated = false;
    }
  }

  /** What is left of this world on the machine (empty when all is gone). */
  async leftovers(): Promise<string[]> {
    const left: string[] = [];
    const { stdout: nss } = await run('ip', ['netns', 'list']);
    if (nss.split('\n').some((l) => l.split(' ')[0] === this.ns)) left.push(`namespace ${this.ns}`);
    const { stdout: links } = await run('ip', ['-o', 'link', 'show']);
    if (links.includes(`${this.tapName}:`) || links.includes(`${this.tapName}@`)) left.push(`interface ${this.tapName}`);
    return left;
  }
}

/** Runs `fn` in a fresh world and always tears it down, checking nothing is left. */
export async function withTapWorld(options: Omit<TapDeviceOptions, 'name'>, fn: (w: TapWorld) => Promise<void>, seed = 1, shoalAddress: string | null = `${SHOAL_IP}/24`): Promise<void> {
  const w = await TapWorld.create(options, seed, shoalAddress);
  let failure: unknown = null;
  try {
    await fn(w);
  } catch (e) {
    failure = e;
  }
  await w.close();
  if (failure !== null) throw failure;
  const left = await w.leftovers();
  if (left.length > 0) throw new Error(`left behind: ${left.join(', ')}`);
}

/** Runs `fn` with a fresh, empty namespace of its own, deleted afterwards whatever happens. */
export async function withNetns(fn: (ns: string, exec: (cmd: string, args: string[]) => Promise<ExecResult>) => Promise<void>): Promise<void> {
  const ns = `shoal-tap-${randomBytes(4).toString('hex')}`;
  await run('ip', ['netns', 'add', ns]);
  try {
    await fn(ns, (cmd, args) => run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: 30_000 }));
  } finally {
    await run('ip', ['netns', 'del', ns]);
  }
}
