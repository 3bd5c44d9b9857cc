/**
 * `shoal serve <echo|http|memcached>`: a Shoal server on a real link (a TAP for now),
 * until Ctrl-C (or SIGTERM), which closes the listener, the connections, the stack and
 * the capture cleanly. `--stats` prints a line a second: frames, bytes, drops, connections.
 */
import type { ParseArgsConfig } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveHttp } from '../../apps/http/index.js';
import { serveMemcached } from '../../apps/memcached/index.js';
import { serveTcpEcho, serveUdpEcho } from '../../apps/echo.js';
import { integerFlag, UsageError } from '../usage.js';
import { LINK_HELP, LINK_OPTIONS, openWiredHostWithAddress } from './link.js';

export const SERVE_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  ...LINK_OPTIONS,
  port: { type: 'string' },
  root: { type: 'string' },
  stats: { type: 'boolean' },
};

export const SERVE_HELP = `Usage: shoal serve <echo|http|memcached> --link tap:NAME (--ip A.B.C.D/N | --dhcp) [options]

Serves on a Shoal stack on a real link until Ctrl-C: echo (TCP and UDP, port 7),
http (static files from --root and POST /echo, port 80) or memcached (port 11211).
Shoal also answers ping on that address.

Options:
${LINK_HELP}
  --port N         the port (default: 7, 80 or 11211)
  --root DIR       http: the folder to serve (default: a temporary one with an index.html)
  --stats          a line a second: frames, bytes, drops, connections
  -h, --help       this text`;

const DEFAULT_PORTS: Record<string, number> = { echo: 7, http: 80, memcached: 11211 };

export async function runServe(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const app = positionals[0];
  if (app === undefined || !(app in DEFAULT_PORTS)) throw new UsageError(`serve takes one of echo, http, memcached, got '${app ?? ''}'`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const port = integerFlag('port', values['port'], DEFAULT_PORTS[app]!, 1, 65535);
  const wired = await openWiredHostWithAddress(values);
  const { host } = wired;
  const server = host.net.createServer();
  const listening = new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.listen(port);
  let udp: ReturnType<typeof host.dgram.createSocket> | null = null;
  try {
    await listening;
  } catch (e) {
    await wired.close();
    throw e;
  }
  if (app === 'echo') {
    serveTcpEcho(server);
    udp = host.dgram.createSocket('udp4');
    serveUdpEcho(udp);
    udp.bind(port);
  } else if (app === 'http') {
    let root = typeof values['root'] === 'string' ? values['root'] : '';
    if (root === '') {
      root = mkdtempSync(join(tmpdir(), 'shoal-serve-'));
      writeFileSync(join(root, 'index.html'), '<!doctype html><title>Shoal</title><p>Served by Shoal, a user-space TCP/IP stack.</p>\n');
    }
    serveHttp(server, { root });
  } else {
    serveMemcached(server);
  }
  console.log(`shoal serve: ${app} on ${host.stack.address >>> 24}.${(host.stack.address >>> 16) & 255}.${(host.stack.address >>> 8) & 255}.${host.stack.address & 255}:${port} (${wired.label}); Ctrl-C stops`);
  const stats = values['stats']
    ? setInterval(() => {
        const t = wired.tap.totals();
        const c = host.stack.counters();
        console.log(`rx ${t.rxFrames} frames ${t.rxBytes} B, tx ${t.txFrames} frames ${t.txBytes} B, drops rx ${t.rxDrops} tx ${t.txDrops}, tcp connections ${host.stack.tcp.connections} (${c.tcp.states.ESTABLISHED} established)`);
      }, 1000)
    : null;
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (stats !== null) clearInterval(stats);
  udp?.close();
  server.close();
  await wired.close();
  console.log('shoal serve: stopped');
  return 0;
}
