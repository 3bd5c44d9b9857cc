/** A mistake in how the command was called: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** A number (not negative) from a flag's text, or a UsageError naming the flag. */
export function numberFlag(name: string, text: string | boolean | undefined, fallback: number, min = 0, max = Infinity): number {
  if (text === undefined) return fallback;
  const n = typeof text === 'string' && /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${name} takes a number from ${min} to ${max}, got '${String(text)}'`);
  return n;
}

/** A whole number from a flag's text, or a UsageError naming the flag. */
export function integerFlag(name: string, text: string | boolean | undefined, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const n = typeof text === 'string' && /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${name} takes a whole number from ${min} to ${max}, got '${String(text)}'`);
  return n;
}
