/**
 * GET and HEAD of files under a folder: Content-Type by extension, Content-Length, the
 * file streamed (never read whole). A directory serves its index.html. What is missing,
 * not a regular file, or outside the folder once symbolic links are followed is 404:
 * the answer does not tell a forbidden path from a missing one.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { contentTypeFor } from './content-type.js';
import { isInside, resolveInside } from './request-path.js';

export interface StaticFolder {
  /** The folder, absolute and with symbolic links resolved. */
  readonly root: string;
}

interface OpenFile {
  file: FileHandle;
  path: string;
  size: number;
  mtime: Date;
}

/** An open regular file inside the folder (a directory's index.html), or null. */
async function openInside(folder: StaticFolder, path: string, directoryIndex = true): Promise<OpenFile | null> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return null;
  }
  if (!isInside(folder.root, real)) return null;
  let file: FileHandle;
  try {
    // The path is resolved: a symbolic link appearing there since is refused.
    file = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = await file.stat();
    if (st.isFile()) return { file, path: real, size: st.size, mtime: st.mtime };
    await file.close();
    return st.isDirectory() && directoryIndex ? openInside(folder, join(real, 'index.html'), false) : null;
  } catch (err) {
    await file.close();
    throw err;
  }
}

export function sendStatus(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = `${text}\n`;
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Answers a GET or HEAD for a file under the folder. */
export async function serveStatic(folder: StaticFolder, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = resolveInside(folder.root, req.url ?? '/');
  const found = path === null ? null : await openInside(folder, path);
  if (found === null) return sendStatus(res, 404, 'Not Found');
  const { file, size } = found;
  res.writeHead(200, {
    'Content-Type': contentTypeFor(found.path),
    'Content-Length': size,
    'Last-Modified': found.mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD' || size === 0) {
    await file.close();
    res.end();
    return;
  }
  // At most the bytes promised in Content-Length; fewer (the file shrank) cut the connection.
  const stream = file.createReadStream({ start: 0, end: size - 1 });
  pipeline(stream, res, (err) => {
    if ((err !== undefined && err !== null) || stream.bytesRead < size) res.destroy();
  });
}
