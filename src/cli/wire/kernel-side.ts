/**
 * `--kernel-ip A.B.C.D/N`: gives the TAP's kernel side an address and brings it up, as
 * TAP-based tools usually offer (ip(8) from iproute2: `ip addr add`, `ip link set up`).
 */
import { execFileSync } from 'node:child_process';

/** Configures interface `name`; throws one line saying what failed. */
export function configureKernelSide(name: string, cidr: string): void {
  for (const args of [
    ['addr', 'add', cidr, 'dev', name],
    ['link', 'set', name, 'up'],
  ]) {
    try {
      execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    } catch (e) {
      const err = e as { code?: string; stderr?: Buffer };
      if (err.code === 'ENOENT') throw new Error('--kernel-ip needs ip(8) (Debian: apt-get install iproute2); or configure the kernel side by hand');
      const why = err.stderr?.toString().trim().split('\n')[0] ?? String(e);
      // A TAP kept from an earlier run (persistent, or attached to) may have it already.
      if (args[0] === 'addr' && /File exists/.test(why)) continue;
      throw new Error(`--kernel-ip: ip ${args.join(' ')}: ${why}`);
    }
  }
}
