/**
 * Connection churn: node:http without keep-alive, so every request opens a new TCP
 * connection (handshake, request, response, both FINs): GET / (the index.html) from
 * `workers` workers, each with one request in flight. Requests/s here are TCP
 * connections/s. The server answers "Connection: close" and closes first, so TIME_WAIT
 * stays with the server (as with a real web server), not the client's ephemeral ports.
 */

import type { Net } from '../../api/net/index.js';
import type { Content } from './content.js';
import type { Exchange } from './http-exchange.js';
import { HttpLoad } from './http-load.js';
import { ShoalAgent } from './shoal-agent.js';

export function churnLoad(net: Net, host: string, port: number, workers: number, seed: number, content: Content): HttpLoad {
  const index: Exchange = { method: 'GET', path: '/', expected: content.index };
  return new HttpLoad({
    name: 'churn',
    agent: new ShoalAgent(net, { keepAlive: false }),
    host,
    port,
    workers,
    seed,
    pick: () => ({ label: 'GET / (new connection each)', exchange: index }),
  });
}
