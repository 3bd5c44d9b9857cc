/**
 * Argument checks as node:dgram makes them (lib/internal/validators.js), with Node's
 * messages: ERR_INVALID_ARG_TYPE and ERR_SOCKET_BAD_PORT say what they received the
 * way Node's determineSpecificType does.
 */

import { inspect } from 'node:util';
import { nodeError, type NodeError } from './errors.js';

/** Node's determineSpecificType: "type number (42)", "an instance of Array", "undefined". */
export function describeReceived(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function' && value.name) return `function ${value.name}`;
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: string } }).constructor;
    if (ctor?.name) return `an instance of ${ctor.name}`;
    return inspect(value, { depth: -1 });
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

/** ERR_INVALID_ARG_TYPE: `expected` is Node's phrase, e.g. "of type string". */
export function invalidArgType(name: string, expected: string, value: unknown): NodeError {
  const what = name.endsWith(' argument') ? name : `"${name}" ${name.includes('.') ? 'property' : 'argument'}`;
  return nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The ${what} must be ${expected}. Received ${describeReceived(value)}`);
}

export const BUFFER_TYPES = 'of type string or an instance of Buffer, TypedArray, or DataView';

export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
}

export function validateNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
}

/** Node's validatePort: a number or numeric string in 0..65535 (1..65535 unless `allowZero`); returns it as an integer. */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  if (
    (typeof port !== 'number' && typeof port !== 'string') ||
    (typeof port === 'string' && port.trim().length === 0) ||
    +port !== +port >>> 0 ||
    +port > 0xffff ||
    (port === 0 && !allowZero)
  ) {
    throw nodeError(RangeError, 'ERR_SOCKET_BAD_PORT', `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeReceived(port)}.`);
  }
  return +port | 0;
}
