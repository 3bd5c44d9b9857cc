/**
 * The namespaces of the TAP benchmark and the processes it runs in them. Every name
 * carries a random tag (no collision with other runs), every address is assigned inside
 * a namespace made here, and `close()` kills what was started (by PID) and deletes the
 * namespaces, also after a failure.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { LOAD_SCRIPT } from './tap-load.js';

const run = promisify(execFile);

/** A process in a namespace: its output so far, and its end. */
export interface Started {
  child: ChildProcess;
  /** Resolves once `readyLine` appeared on stdout (at once when none was asked for). */
  ready: Promise<void>;
  /** Resolves with stdout when the process exits 0, rejects otherwise. */
  exited: Promise<string>;
}

export class Namespaces {
  readonly tag = randomBytes(3).toString('hex');
  private readonly created: string[] = [];
  private readonly children = new Set<ChildProcess>();

  async add(name: string): Promise<string> {
    const ns = `shoal-bench-${name}-${this.tag}`;
    await run('ip', ['netns', 'add', ns]);
    this.created.push(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // No IPv6 (Shoal would only count and drop the kernel's solicitations). Ports: the
    // connections/s client opens tens of thousands of connections and closes first, so its
    // TIME_WAIT ports are reused (RFC 6191 with timestamps) from a wide range — the same
    // settings in every namespace, so both sides of a comparison have them.
    await this.exec(ns, 'sh', [
      '-c',
      'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; ' +
        'echo 1 > /proc/sys/net/ipv4/tcp_tw_reuse; echo "1024 65535" > /proc/sys/net/ipv4/ip_local_port_range',
    ]);
    return ns;
  }

  /** A veth pair between two namespaces, `a/24` on the first end, `b/24` on the second. */
  async veth(ns1: string, a: string, ns2: string, b: string): Promise<void> {
    const e1 = `shv1${this.tag}`;
    const e2 = `shv2${this.tag}`;
    await run('ip', ['-n', ns1, 'link', 'add', e1, 'type', 'veth', 'peer', 'name', e2, 'netns', ns2]);
    await run('ip', ['-n', ns1, 'addr', 'add', `${a}/24`, 'dev', e1]);
    await run('ip', ['-n', ns2, 'addr', 'add', `${b}/24`, 'dev', e2]);
    await run('ip', ['-n', ns1, 'link', 'set', e1, 'up']);
    await run('ip', ['-n', ns2, 'link', 'set', e2, 'up']);
  }

  /** Moves the TAP `name` (whose fd this process holds) into `ns` and gives it `cidr` there. */
  async moveTap(name: string, ns: string, cidr: string): Promise<void> {
    await run('ip', ['link', 'set', name, 'netns', ns]);
    await run('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', name]);
    await run('ip', ['-n', ns, 'link', 'set', name, 'up']);
  }

  async exec(ns: string, cmd: string, args: string[]): Promise<void> {
    await run('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  /** Starts `cmd` in `ns` (ip netns exec execs it: the PID is the command's own). */
  start(ns: string, cmd: string, args: string[], readyLine: string | null = null): Started {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    let out = '';
    let err = '';
    let readyResolve: () => void = () => {};
    const ready = new Promise<void>((r) => (readyResolve = r));
    if (readyLine === null) readyResolve();
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (readyLine !== null && out.includes(readyLine)) readyResolve();
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<string>((resolve, reject) => {
      child.once('exit', (code, signal) => {
        this.children.delete(child);
        if (code === 0) resolve(out);
        else reject(new Error(`${cmd} ${args[0] ?? ''} in ${ns} exited ${code ?? signal}: ${(out + err).trim().slice(-400)}`));
      });
    });
    // A server that dies before it is ready must not leave the caller waiting.
    exited.catch(() => readyResolve());
    return { child, ready, exited };
  }

  /** The load script (bench/tap-load.ts) in `ns`; servers resolve `ready` once listening. */
  load(ns: string, args: string[], server = false): Started {
    return this.start(ns, process.execPath, ['-e', LOAD_SCRIPT, ...args], server ? 'READY' : null);
  }

  /** The JSON line a load script printed. */
  static result(out: string): Record<string, number> {
    const line = out.split('\n').find((l) => l.startsWith('{'));
    if (line === undefined) throw new Error(`no result from the load generator: ${out}`);
    return JSON.parse(line) as Record<string, number>;
  }

  /** Kills a process started here, by PID, and waits for it to go. */
  async kill(s: Started): Promise<void> {
    if (s.child.pid !== undefined && s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await s.exited.catch(() => {});
  }

  async close(): Promise<void> {
    for (const c of this.children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of this.created) await run('ip', ['netns', 'del', ns]).catch(() => {});
  }
}
