/**
 * GET and HEAD of files under a folder: Content-Type by extension, Content-Length, a
 * large file streamed (never read whole), a small one kept in memory for a while
 * (file-cache.ts). A directory serves its index.html. What is missing,
 * not a regular file, or outside the folder once symbolic links are followed is 404:
 * the answer does not tell a forbidden path from a missing one.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { contentTypeFor } from './content-type.js';
import type { FileCache } from './file-cache.js';
import { isInside, resolveInside } from './request-path.js';

export interface StaticFolder {
  /** The folder, absolute and with symbolic links resolved. */
  readonly root: string;
  /** Small files answered from memory (file-cache.ts), or null. */
  readonly cache: FileCache | null;
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

function writeFileHead(res: ServerResponse, path: string, size: number, mtime: Date): void {
  res.writeHead(200, {
    'Content-Type': contentTypeFor(path),
    'Content-Length': size,
    'Last-Modified': mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
  });
}

/** Answers a GET or HEAD for a file under the folder. */
export async function serveStatic(folder: StaticFolder, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = resolveInside(folder.root, req.url ?? '/');
  const cache = folder.cache;
  const now = cache !== null ? cache.now() : 0;
  const cached = path === null || cache === null ? null : cache.get(path, now);
  if (cached !== null) {
    writeFileHead(res, cached.path, cached.body.length, cached.mtime);
    res.end(req.method === 'HEAD' ? undefined : cached.body);
    return;
  }
  const found = path === null ? null : await openInside(folder, path);
  if (found === null) return sendStatus(res, 404, 'Not Found');
  const { file, size } = found;
  if (cache !== null && path !== null && size <= cache.maxFileBytes) {
    // Small: read it whole once, keep it, answer from memory.
    let body: Buffer;
    try {
      body = await file.readFile();
    } finally {
      await file.close();
    }
    cache.put(path, { path: found.path, body, mtime: found.mtime, checkedAt: now });
    writeFileHead(res, found.path, body.length, found.mtime);
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  writeFileHead(res, found.path, size, found.mtime);
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
