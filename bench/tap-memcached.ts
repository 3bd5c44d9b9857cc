/**
 * The memcached rows of the TAP benchmark: Debian's memcached (one thread, as Shoal runs
 * one shard) and memcaslap (Debian's memaslap, the load generator Seastar used), both
 * run in the benchmark's namespaces.
 */
import { execFileSync } from 'node:child_process';
import type { Namespaces, Started } from './tap-netns.js';

/** memcaslap's load: 16 concurrent connections (from one thread, or -T threads), its default mix (90% get, 10% set). */
const CONCURRENCY = 16;

/** Why the memcached rows cannot run here, or null when they can. */
export function memcachedToolsMissing(): string | null {
  for (const [tool, pkg] of [['memcached', 'memcached'], ['memcaslap', 'libmemcached-tools']] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (apt-get install ${pkg})`;
    }
  }
  return null;
}

/** Starts Debian's memcached (`threads` worker threads) in `ns` on `address:port` and waits until it accepts connections; kill it with n.kill(). */
export async function startKernelMemcached(n: Namespaces, ns: string, address: string, port: number, threads = 1): Promise<Started> {
  // -t: worker threads; -U 0: no UDP; -u root: memcached refuses to run as root without it.
  const server = n.start(ns, 'memcached', ['-t', String(threads), '-p', String(port), '-l', address, '-U', '0', '-u', 'root']);
  const probe = n.load(ns, ['probe', address, String(port)]);
  await Promise.race([probe.exited, server.exited]);
  return server;
}

/** Runs memcaslap (`threads` threads) from `ns` against `address:port` for `seconds`; returns its ops/s (TPS of the final summary). */
export async function memcaslap(n: Namespaces, ns: string, address: string, port: number, seconds: number, threads = 1): Promise<number> {
  const s = n.start(ns, 'memcaslap', ['-s', `${address}:${port}`, '-t', `${Math.max(1, Math.round(seconds))}s`, '-c', String(CONCURRENCY), '-T', String(threads)]);
  // A server that stops answering would leave memcaslap waiting: it gets its time and a margin.
  const guard = setTimeout(() => void n.kill(s), (seconds + 30) * 1000);
  try {
    const out = await s.exited;
    const tps = /TPS:\s*(\d+)/.exec(out);
    if (tps === null) throw new Error(`memcaslap printed no TPS: ${out.slice(-400)}`);
    // memcaslap counts a reply it did not like as an operation too: a server that answers
    // every command with an error must not pass for a fast one.
    const error = /^<\d+ (?:ERROR|CLIENT_ERROR|SERVER_ERROR).*$/m.exec(out);
    if (error !== null) throw new Error(`memcaslap got errors from ${address}:${port}: ${JSON.stringify(error[0])}`);
    const gets = Number(/cmd_get:\s*(\d+)/.exec(out)?.[1] ?? 0);
    const misses = Number(/get_misses:\s*(\d+)/.exec(out)?.[1] ?? 0);
    if (gets === 0 || misses > gets / 2) throw new Error(`memcaslap: ${gets} gets, ${misses} misses from ${address}:${port}: the server is not storing`);
    return Number(tps[1]);
  } finally {
    clearTimeout(guard);
  }
}
