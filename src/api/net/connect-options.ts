/**
 * connect()'s options checked as node:net checks them (lib/net.js: Socket.prototype.connect
 * and lookupAndConnect), throwing Node's errors, and sorted into what the connect needs.
 */
import type { TcpOptions } from '../../stack/tcp/options.js';
import { parseHost, validatePort } from './address.js';
import type { LooseOptions } from './args.js';
import { codedError, describeValue } from '../node-errors.js';

export interface ConnectRequest {
  port: number;
  /** As given; Node's default is 'localhost'. */
  host: string;
  localAddress: string | undefined;
  localPort: number | undefined;
  /** Socket options given with connect() (undefined: leave as they are). */
  noDelay: boolean | undefined;
  keepAlive: boolean | undefined;
  /** Whole seconds, as Node keeps it. */
  keepAliveDelay: number | undefined;
  /** Idle timeout (ms), 0 for none. */
  timeout: number;
}

export function parseConnectOptions(options: LooseOptions): ConnectRequest {
  if (options['path'] !== undefined && options['path'] !== null) {
    throw codedError('ERR_INVALID_ARG_VALUE', `Shoal sockets are TCP only: IPC paths are not supported (path ${describeValue(options['path'])})`, TypeError);
  }
  const port = options['port'];
  if (port === undefined) throw codedError('ERR_MISSING_ARGS', 'The "options" or "port" or "path" argument must be specified', TypeError);
  if (typeof port !== 'number' && typeof port !== 'string') {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "options.port" property must be one of type number or string. Received ${describeValue(port)}`, TypeError);
  }
  const validPort = validatePort(port);
  const localAddress = options['localAddress'];
  if (localAddress !== undefined && (typeof localAddress !== 'string' || parseHost(localAddress).kind === 'name')) {
    throw codedError('ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${String(localAddress)}`, TypeError);
  }
  const localPort = options['localPort'];
  if (localPort !== undefined && typeof localPort !== 'number') {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "options.localPort" property must be of type number. Received ${describeValue(localPort)}`, TypeError);
  }
  const family = options['family'];
  if (family !== undefined && family !== 0 && family !== 4) {
    throw codedError('ERR_INVALID_ARG_VALUE', `Shoal speaks IPv4 only: family ${describeValue(family)} is not supported`, TypeError);
  }
  const host = options['host'];
  const flag = (k: string): boolean | undefined => (options[k] === undefined ? undefined : Boolean(options[k]));
  return {
    port: validPort,
    host: typeof host === 'string' && host !== '' ? host : 'localhost',
    localAddress,
    localPort,
    noDelay: flag('noDelay'),
    keepAlive: flag('keepAlive'),
    keepAliveDelay: options['keepAliveInitialDelay'] === undefined ? undefined : ~~(Number(options['keepAliveInitialDelay']) / 1000),
    timeout: options['timeout'] ? Number(options['timeout']) : 0,
  };
}

/** Keepalive as libuv sets it on Linux (uv__tcp_keepalive): idle = the delay, 1 s between probes, 10 probes; a delay under 1 s leaves the times as they are. */
export function keepAliveOptions(delaySeconds: number): TcpOptions {
  return delaySeconds >= 1 ? { keepAlive: true, keepAliveIdle: delaySeconds * 1000, keepAliveInterval: 1000, keepAliveCount: 10 } : { keepAlive: true };
}
