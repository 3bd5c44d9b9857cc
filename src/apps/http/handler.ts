/**
 * The http app's request handler for node:http: static files (GET, HEAD) from a folder and
 * POST /echo. Other methods are 405 with the Allow header (RFC 9110 §15.5.6).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { echoBody } from './echo.js';
import { decodedPath } from './request-path.js';
import { sendStatus, serveStatic, type StaticFolder } from './static-files.js';
import { FileCache, type FileCacheOptions } from './file-cache.js';

export interface HttpAppOptions {
  /** The folder whose files are served (it must exist). */
  root: string;
  /** Where POST echoes the body (default "/echo"). */
  echoPath?: string;
  /** Small files kept in memory (default: on, see FileCacheOptions); false turns it off. */
  fileCache?: FileCacheOptions | false;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createHttpHandler(options: HttpAppOptions): RequestHandler {
  const folder: StaticFolder = {
    root: realpathSync(resolve(options.root)),
    cache: options.fileCache === false ? null : new FileCache(options.fileCache),
  };
  const echoPath = options.echoPath ?? '/echo';
  return (req, res) => {
    const method = req.method ?? 'GET';
    if (decodedPath(req.url ?? '/') === echoPath) {
      if (method === 'POST') return echoBody(req, res);
      return sendStatus(res, 405, 'Method Not Allowed', { Allow: 'POST' });
    }
    if (method === 'GET' || method === 'HEAD') {
      serveStatic(folder, req, res).catch(() => {
        if (!res.headersSent) sendStatus(res, 500, 'Internal Server Error');
        else res.destroy();
      });
      return;
    }
    sendStatus(res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
  };
}
