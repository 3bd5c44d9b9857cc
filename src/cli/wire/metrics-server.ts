/**
 * `--metrics HOST:PORT`: Prometheus's text exposition at `/metrics`, on the kernel's
 * network (a plain node:http server; 127.0.0.1 unless a host is given), gathered from
 * the shards at each scrape.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prometheusText, type MetricsSample } from '../../api/metrics.js';
import { UsageError } from '../usage.js';

/** `--metrics` checked: [host, port] (a port alone listens on 127.0.0.1; port 0 picks a free one). */
export function parseMetricsFlag(value: string): { host: string; port: number } {
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (m === null || !(port >= 0 && port <= 65535)) throw new UsageError(`--metrics takes HOST:PORT or PORT (e.g. 127.0.0.1:9100), got '${value}'`);
  return { host: m[1] ?? '127.0.0.1', port };
}

export interface MetricsServer {
  /** Where it listens, e.g. http://127.0.0.1:9100/metrics. */
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(at: { host: string; port: number }, collect: () => Promise<MetricsSample[]>): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    collect().then(
      (samples) => res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(prometheusText(samples)),
      (e: unknown) => res.writeHead(503, { 'Content-Type': 'text/plain' }).end(`no metrics now: ${String(e)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`--metrics ${at.host}:${at.port}: ${e.code ?? e.message}`)));
    server.listen(at.port, at.host, resolve);
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a scraper's keep-alive connection must not hold the stop
      }),
  };
}
