/**
 * The reply lines of the text protocol, made once (protocol.txt: "Error strings", "Storage
 * commands", "Deletion", "Touch", "Other commands"; the CLIENT_ERROR texts are memcached
 * 1.6's own).
 */

const line = (s: string): Buffer => Buffer.from(`${s}\r\n`, 'latin1');

export const CRLF = line('');
export const END = line('END');
export const STORED = line('STORED');
export const NOT_STORED = line('NOT_STORED');
export const EXISTS = line('EXISTS');
export const NOT_FOUND = line('NOT_FOUND');
export const DELETED = line('DELETED');
export const TOUCHED = line('TOUCHED');
export const OK = line('OK');
export const RESET = line('RESET');
/** A nonexistent command name, or the wrong number of tokens for one. */
export const ERROR = line('ERROR');
export const BAD_FORMAT = line('CLIENT_ERROR bad command line format');
export const BAD_DELETE = line('CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]');
export const BAD_DATA_CHUNK = line('CLIENT_ERROR bad data chunk');
export const BAD_DELTA = line('CLIENT_ERROR invalid numeric delta argument');
export const BAD_EXPTIME = line('CLIENT_ERROR invalid exptime argument');
export const NON_NUMERIC = line('CLIENT_ERROR cannot increment or decrement non-numeric value');
/** Sent before closing a connection whose line has no end in sight (memcached 1.6.18 closes without a word). */
export const LINE_TOO_LONG = line('CLIENT_ERROR line too long');
export const TOO_LARGE = line('SERVER_ERROR object too large for cache');

export const STORE_REPLIES = { STORED, NOT_STORED, EXISTS, NOT_FOUND } as const;
