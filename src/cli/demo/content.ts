/**
 * The files the demo's http server serves, in a temporary folder made for the run and
 * removed after it: an index.html, a 16 KiB and a 1 MiB file of seeded random bytes. The
 * load generators keep the same bytes to check every body they get.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random } from '../../util/random.js';

export const SMALL_FILE = '/16k.bin';
export const LARGE_FILE = '/1m.bin';

export interface Content {
  /** The folder served. */
  readonly root: string;
  readonly index: Buffer;
  readonly small: Buffer;
  readonly large: Buffer;
  /** Removes the folder (again: nothing happens). */
  remove(): void;
}

function randomBytes(n: number, random: Random): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(random.nextU32(), i);
  return b;
}

export function createContent(seed: number): Content {
  const random = new Random(seed);
  const index = Buffer.from(
    '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Shoal demo</title></head>\n' +
      '<body><h1>Served by node:http on a Shoal TCP/IP stack</h1>\n' +
      `<p>Files: <a href="${SMALL_FILE}">16 KiB</a>, <a href="${LARGE_FILE}">1 MiB</a>; POST /echo returns the body.</p></body>\n</html>\n`,
  );
  const small = randomBytes(16 * 1024, random);
  const large = randomBytes(1024 * 1024, random);
  const root = mkdtempSync(join(tmpdir(), 'shoal-demo-'));
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    rmSync(root, { recursive: true, force: true });
  };
  try {
    writeFileSync(join(root, 'index.html'), index);
    writeFileSync(join(root, SMALL_FILE.slice(1)), small);
    writeFileSync(join(root, LARGE_FILE.slice(1)), large);
  } catch (err) {
    remove();
    throw err;
  }
  return { root, index, small, large, remove };
}
