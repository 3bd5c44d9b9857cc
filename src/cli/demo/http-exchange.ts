/**
 * One HTTP request through node:http, its response checked byte for byte as it streams
 * in (against the bytes expected, never gathered whole): status 200, a body of the
 * expected length and content.
 */

import { request, type Agent } from 'node:http';

export interface Exchange {
  method: 'GET' | 'POST';
  path: string;
  /** The request body (sent with Content-Length). */
  body?: Buffer;
  /** The response body expected. */
  expected: Buffer;
}

/** Calls `done` once: with null and the body bytes moved both ways, or with what went wrong. */
export function exchange(agent: Agent, host: string, port: number, x: Exchange, done: (problem: string | null, payloadBytes: number) => void): void {
  let finished = false;
  const finish = (problem: string | null, bytes = 0): void => {
    if (finished) return;
    finished = true;
    done(problem, bytes);
  };
  const what = `${x.method} ${x.path}`;
  const headers: Record<string, string | number> = {};
  if (x.body !== undefined) {
    headers['Content-Type'] = 'application/octet-stream';
    headers['Content-Length'] = x.body.length;
  }
  const req = request({ host, port, path: x.path, method: x.method, agent, headers }, (res) => {
    if (res.statusCode !== 200) {
      res.resume();
      finish(`${what}: status ${res.statusCode}`);
      return;
    }
    const expected = x.expected;
    let at = 0;
    let same = true;
    res.on('data', (chunk: Buffer) => {
      if (same && (at + chunk.length > expected.length || !chunk.equals(expected.subarray(at, at + chunk.length)))) same = false;
      at += chunk.length;
    });
    res.on('end', () => {
      if (!same) finish(`${what}: the body differs from what was ${x.body ? 'sent' : 'served'}`);
      else if (at !== expected.length) finish(`${what}: ${at} bytes of ${expected.length}`);
      else finish(null, at + (x.body?.length ?? 0));
    });
    res.on('error', (err) => finish(`${what}: ${err.message}`));
    res.on('aborted', () => finish(`${what}: the response was cut`));
  });
  req.on('error', (err) => finish(`${what}: ${err.message}`));
  req.end(x.body);
}
