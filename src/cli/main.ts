#!/usr/bin/env node
/**
 * The `shoal` command. Each subcommand parses its own flags with node:util's parseArgs
 * (strict: an unknown flag is an error) and a bad flag or value gets one clear line.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { runDemo, DEMO_HELP, DEMO_OPTIONS } from './demo/index.js';
import { UsageError } from './usage.js';
import { BENCH_HELP, BENCH_OPTIONS, runBench } from './bench.js';
import { PING_HELP, PING_OPTIONS, runPing } from './wire/ping.js';
import { runServe, SERVE_HELP, SERVE_OPTIONS } from './wire/serve.js';

interface Command {
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> | number;
}

const COMMANDS: Record<string, Command> = {
  demo: { summary: 'memcached and http servers on a Shoal stack under load from three client stacks (in-process switch): req/s, Gbit/s, latency', help: DEMO_HELP, options: DEMO_OPTIONS, run: runDemo },
  serve: { summary: 'an echo, http or memcached server on a Shoal stack on a TAP link (the kernel on the other end)', help: SERVE_HELP, options: SERVE_OPTIONS, run: runServe },
  ping: { summary: 'ICMP echo from a Shoal stack on a TAP link', help: PING_HELP, options: PING_OPTIONS, run: runPing },
  bench: { summary: 'the benchmarks, each against its reference in the same run (stack, api, shards, tap)', help: BENCH_HELP, options: BENCH_OPTIONS, run: runBench },
};

const MAIN_HELP = `shoal — a sharded, user-space TCP/IP stack for Node.js

Usage: shoal <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run 'shoal <command> --help' for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(MAIN_HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(`shoal: unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')}; see shoal --help)`);
    return 2;
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { help: { type: 'boolean', short: 'h' }, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    if (values['help']) {
      console.log(command.help);
      return 0;
    }
    return await command.run(values as Record<string, string | boolean | undefined>, positionals);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (err instanceof UsageError || e.code?.startsWith('ERR_PARSE_ARGS')) {
      // parseArgs' messages may run over several lines: the user gets one.
      console.error(`shoal ${name}: ${e.message.replace(/\s*\n\s*/g, ' ')} (see shoal ${name} --help)`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`shoal: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
