/**
 * `shoal bench [all|stack|api|shards|tap]`: the benchmarks of `npm run bench` (bench/, built next
 * to the CLI in dist/), each row side by side with its reference, in a child process so
 * that the measurement starts from a fresh heap.
 */
import type { ParseArgsConfig } from 'node:util';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberFlag, UsageError } from './usage.js';

export const BENCH_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  seconds: { type: 'string' },
};

export const BENCH_HELP = `Usage: shoal bench [all|stack|api|shards|tap] [--seconds S]

Runs the benchmarks, each against its reference in the same run, and prints the table
with the ratios:
  stack  TCP through two Shoal stacks on the memory link vs node:net on 127.0.0.1
         (bulk, request/response, connections, RSS through 10 GB)
  api    the same server on the zero-copy completion API vs stack.net
  shards the stack on 2 shards (worker threads) vs 1 shard: connections, request/
         response, bulk; and with half the flows forwarded between the shards
  tap    Shoal on a TAP against the kernel vs kernel-to-kernel over veth (root)
  all    all of them and the foundation's (checksum, Toeplitz, pool, memory switch)

Options:
  --seconds S      how long each timed case runs (default 3)
  -h, --help       this text`;

const SCRIPTS: Record<string, string> = { all: 'run.js', stack: 'stack.js', api: 'api.js', shards: 'shards.js', tap: 'tap.js' };

export async function runBench(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const which = positionals[0] ?? 'all';
  const script = SCRIPTS[which];
  if (script === undefined) throw new UsageError(`bench takes one of ${Object.keys(SCRIPTS).join(', ')}, got '${which}'`);
  const seconds = numberFlag('seconds', values['seconds'], 3, 0.1, 3600);
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', script);
  if (!existsSync(path)) throw new UsageError(`the benchmarks are not built next to this CLI (${path}): run them from the repository with npm run bench`);
  const child = spawn(process.execPath, [path], { stdio: 'inherit', env: { ...process.env, SHOAL_BENCH_SECONDS: String(seconds) } });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}
