/**
 * What send() accepts as a datagram, as node:dgram takes it (lib/dgram.js sliceBuffer,
 * fixBufferList): a string (UTF-8), a Buffer, TypedArray or DataView, a byte range of
 * one, or a list of them gathered into one datagram. Views, no copies: the stack copies
 * once when it builds the datagram, before send() returns.
 */

import { Buffer } from 'node:buffer';
import { errors } from './errors.js';
import { BUFFER_TYPES, invalidArgType } from './validate.js';

function viewOf(b: ArrayBufferView): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** `length` bytes at `offset` of `buffer` (ERR_BUFFER_OUT_OF_BOUNDS past its end). */
export function sliceBuffer(buffer: unknown, offset: unknown, length: unknown): Buffer {
  let b: ArrayBufferView;
  if (typeof buffer === 'string') b = Buffer.from(buffer);
  else if (ArrayBuffer.isView(buffer)) b = buffer;
  else throw invalidArgType('buffer', BUFFER_TYPES, buffer);
  const off = Number(offset) >>> 0;
  const len = Number(length) >>> 0;
  if (off > b.byteLength) throw errors.outOfBounds('offset');
  if (off + len > b.byteLength) throw errors.outOfBounds('length');
  return Buffer.from(b.buffer, b.byteOffset + off, len);
}

/** The datagram's pieces: one for a string or a view, each of a list (throws ERR_INVALID_ARG_TYPE for anything else). */
export function toBufferList(data: unknown): Buffer[] {
  if (!Array.isArray(data)) {
    if (typeof data === 'string') return [Buffer.from(data)];
    if (ArrayBuffer.isView(data)) return [viewOf(data)];
    throw invalidArgType('buffer', BUFFER_TYPES, data);
  }
  const list: Buffer[] = new Array<Buffer>(data.length);
  for (let i = 0; i < data.length; i++) {
    const item: unknown = data[i];
    if (typeof item === 'string') list[i] = Buffer.from(item);
    else if (ArrayBuffer.isView(item)) list[i] = viewOf(item);
    else throw invalidArgType('buffer list arguments', BUFFER_TYPES, data);
  }
  return list;
}
