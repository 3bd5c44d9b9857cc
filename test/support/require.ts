/**
 * Tests that need something of the machine (tshark, root, /dev/net/tun) skip with a
 * stated reason where it is missing; under CI (`SHOAL_REQUIRE_ALL=1`, set by .ci/run)
 * a missing requirement fails the test instead, so a green CI run cannot hide a skip.
 */
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export const REQUIRE_ALL = process.env['SHOAL_REQUIRE_ALL'] === '1';

/** True when the test may go on; otherwise skips it (or throws under CI). */
export function requireOrSkip(t: TestContext, ok: boolean, reason: string): boolean {
  if (ok) return true;
  if (REQUIRE_ALL) throw new Error(`required in CI but missing: ${reason}`);
  t.skip(reason);
  return false;
}

export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The seed of a randomised test, printed with every failure message. */
export function seedNote(seed: number): string {
  return `(seed ${seed}; rerun with SHOAL_SEED=${seed})`;
}
