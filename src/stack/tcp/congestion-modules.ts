/** The congestion modules by name (TcpOptions.congestion takes a name or a factory). */
import type { CongestionFactory } from './congestion.js';
import { cubic } from './cubic.js';
import { newReno } from './newreno.js';

export type CongestionName = 'cubic' | 'newreno';

export function congestionFactory(c: CongestionName | CongestionFactory): CongestionFactory {
  if (typeof c === 'function') return c;
  if (c === 'cubic') return cubic;
  if (c === 'newreno') return newReno;
  throw new RangeError(`unknown congestion control ${String(c)}`);
}
