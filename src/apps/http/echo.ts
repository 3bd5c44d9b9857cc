/**
 * POST /echo: the request body back, unchanged and streamed (back pressure through pipe).
 * A body with Content-Length is answered with the same Content-Length; a chunked one
 * (RFC 9112 §7.1) is answered chunked. The request's Content-Type is kept.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';

export function echoBody(req: IncomingMessage, res: ServerResponse): void {
  const headers: Record<string, string> = { 'Content-Type': req.headers['content-type'] ?? 'application/octet-stream' };
  const length = req.headers['content-length'];
  if (length !== undefined && req.headers['transfer-encoding'] === undefined) headers['Content-Length'] = length;
  res.writeHead(200, headers);
  pipeline(req, res, (err) => {
    if (err !== undefined && err !== null) res.destroy();
  });
}
