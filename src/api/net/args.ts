/**
 * The argument forms node:net's connect() and listen() take (lib/net.js normalizeArgs):
 * (options[, cb]), (port[, host][, cb]) and (path[, cb]); the callback is the last
 * argument when it is a function.
 */

export type Callback = (...args: never[]) => void;

/** Options as given: fields are checked where they are used, as Node does. */
export type LooseOptions = Record<string, unknown>;

/** Node's toNumber in net.js: a non-negative number, or false. */
export function toNumber(x: unknown): number | false {
  const n = Number(x);
  return n >= 0 ? n : false;
}

/** A string that is not a number names a pipe (an IPC path) in node:net. */
export function isPipeName(s: unknown): s is string {
  return typeof s === 'string' && toNumber(s) === false;
}

export function normalizeArgs(args: readonly unknown[]): { options: LooseOptions; cb: Callback | null } {
  if (args.length === 0) return { options: {}, cb: null };
  const arg0 = args[0];
  let options: LooseOptions;
  if (typeof arg0 === 'object' && arg0 !== null) {
    options = { ...(arg0 as LooseOptions) };
  } else if (isPipeName(arg0)) {
    options = { path: arg0 };
  } else {
    options = { port: arg0 };
    if (args.length > 1 && typeof args[1] === 'string') options['host'] = args[1];
  }
  const last = args[args.length - 1];
  return { options, cb: typeof last === 'function' ? (last as Callback) : null };
}
