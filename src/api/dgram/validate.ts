/**
 * Argument checks as node:dgram makes them (lib/internal/validators.js), with Node's
 * messages: ERR_INVALID_ARG_TYPE and ERR_SOCKET_BAD_PORT say what they received the
 * way Node's determineSpecificType does.
 */

import { badPort, codedError, describeValue, type CodedError } from '../node-errors.js';

/** ERR_INVALID_ARG_TYPE: `expected` is Node's phrase, e.g. "of type string". */
export function invalidArgType(name: string, expected: string, value: unknown): CodedError {
  const what = name.endsWith(' argument') ? name : `"${name}" ${name.includes('.') ? 'property' : 'argument'}`;
  return codedError('ERR_INVALID_ARG_TYPE', `The ${what} must be ${expected}. Received ${describeValue(value)}`, TypeError);
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
    throw badPort(port, name, allowZero);
  }
  return +port | 0;
}
