/**
 * Errors and options of the node:net API that the compatibility suite cannot compare
 * over 127.0.0.1: names (Shoal resolves none; real lookups would leave the machine),
 * unreachable hosts and networks, timeouts, binding, and a host going down. Argument
 * errors, thrown before any traffic, are compared with node:net's directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeNet from 'node:net';
import { MemoryNetwork } from '../../src/api/network.js';
import { Net, type Socket, type SystemError } from '../../src/api/net/index.js';
import type { TcpOptions } from '../../src/stack/tcp/options.js';
import { once } from './compat-harness.js';

/** The error `fn` throws, as class, code and message. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    const x = e as Error & { code?: string };
    return `${x.constructor.name} ${x.code} ${x.message}`;
  }
  return 'nothing thrown';
}

/** Two hosts (10.0.0.1 and 10.0.0.2) on a memory network, a Net on each; closed after `body`. */
async function withHosts(body: (a: Net, b: Net, network: MemoryNetwork) => Promise<void>, tcp?: TcpOptions): Promise<void> {
  const network = new MemoryNetwork();
  try {
    const a = network.addHost({ arp: { retries: 2, retryMs: 50 }, ...(tcp ? { tcp } : {}) });
    const b = network.addHost(tcp ? { tcp } : {});
    await body(new Net(a.stack), new Net(b.stack), network);
  } finally {
    network.close();
  }
}

/** The 'error' a socket emits, and its 'close' argument after it. */
async function failure(s: Socket): Promise<{ error: SystemError; hadError: unknown }> {
  const error = once<SystemError>(s, 'error');
  const hadError = once(s, 'close');
  return { error: await error, hadError: await hadError };
}

test('argument errors are thrown as node:net throws them (class, code, message)', async () => {
  const network = new MemoryNetwork();
  try {
    const net = new Net(network.addHost().stack);
    const cases: [string, () => unknown, () => unknown][] = [
      ['bad port', () => nodeNet.connect(70000, '127.0.0.1'), () => net.connect(70000, '10.0.0.2')],
      ['no port', () => nodeNet.connect({ host: '127.0.0.1' } as nodeNet.NetConnectOpts), () => net.connect({ host: '10.0.0.2' } as never)],
      ['port of a wrong type', () => nodeNet.connect({ port: true, host: '127.0.0.1' } as never), () => net.connect({ port: true, host: '10.0.0.2' } as never)],
      ['localAddress not an IP', () => nodeNet.connect({ port: 80, host: '127.0.0.1', localAddress: 'foo' }), () => net.connect({ port: 80, host: '10.0.0.2', localAddress: 'foo' })],
      ['localPort a string', () => nodeNet.connect({ port: 80, host: '127.0.0.1', localPort: '12' } as never), () => net.connect({ port: 80, host: '10.0.0.2', localPort: '12' } as never)],
      ['listen on a bad port', () => nodeNet.createServer().listen(70000), () => net.createServer().listen(70000)],
      ['listen without port or path', () => nodeNet.createServer().listen({}), () => net.createServer().listen({})],
      ['setTimeout(-1)', () => new nodeNet.Socket().setTimeout(-1), () => new net.Socket().setTimeout(-1)],
      ['setTimeout(Infinity)', () => new nodeNet.Socket().setTimeout(Infinity), () => new net.Socket().setTimeout(Infinity)],
      ["setTimeout('1')", () => new nodeNet.Socket().setTimeout('1' as never), () => new net.Socket().setTimeout('1' as never)],
    ];
    for (const [name, node, shoal] of cases) {
      const expected = thrown(node);
      assert.notEqual(expected, 'nothing thrown', name);
      assert.equal(thrown(shoal), expected, name);
    }
    // listen twice: both listen for real (node:net on 127.0.0.1), then again.
    const nodeServer = nodeNet.createServer().listen(0, '127.0.0.1');
    const shoalServer = net.createServer().listen(0);
    try {
      await once(nodeServer, 'listening');
      assert.equal(
        thrown(() => shoalServer.listen(0)),
        thrown(() => nodeServer.listen(0, '127.0.0.1')),
      );
    } finally {
      nodeServer.close();
      shoalServer.close();
    }
    // A socket never connected: 'close' with no argument, readyState and pending as Node's.
    const fresh = new net.Socket();
    const nodeFresh = new nodeNet.Socket();
    assert.deepEqual([fresh.readyState, fresh.pending, fresh.connecting], [nodeFresh.readyState, nodeFresh.pending, nodeFresh.connecting]);
    const closedWith = once<unknown>(fresh, 'close');
    fresh.destroy();
    assert.equal(await closedWith, undefined);
    nodeFresh.destroy();
  } finally {
    network.close();
  }
});

test('names do not resolve: getaddrinfo ENOTFOUND (localhost too, and the default host), after a lookup event', async () => {
  await withHosts(async (a, b) => {
    for (const [host, connect] of [
      ['db.example.invalid', () => a.connect(80, 'db.example.invalid')],
      ['localhost', () => a.connect(80, 'localhost')],
      ['localhost', () => a.connect({ port: 80 })],
    ] as const) {
      const s = connect();
      const lookup = once<SystemError>(s, 'lookup');
      const { error, hadError } = await failure(s);
      assert.equal(await lookup, error);
      assert.equal(error.message, `getaddrinfo ENOTFOUND ${host}`);
      assert.equal(error.code, 'ENOTFOUND');
      assert.equal(error.syscall, 'getaddrinfo');
      assert.equal(error.errno, -3008);
      assert.equal(error.hostname, host);
      assert.match(String((error.cause as Error).message), /resolves no names/);
      assert.equal(hadError, true);
    }
    const server = b.createServer().listen(80, 'localhost');
    const e = await once<SystemError>(server, 'error');
    assert.equal(e.message, 'getaddrinfo ENOTFOUND localhost');
    assert.equal(server.listening, false);
  });
});

test('unreachable: EHOSTUNREACH when ARP gets no answer, ENETUNREACH off the subnet, for IPv6, and for our own address', async () => {
  await withHosts(async (a) => {
    const cases: [string, string, RegExp | null][] = [
      ['10.0.0.99', 'connect EHOSTUNREACH 10.0.0.99:80', null],
      ['192.168.7.7', 'connect ENETUNREACH 192.168.7.7:80', null],
      ['::1', 'connect ENETUNREACH ::1:80', null],
      ['10.0.0.1', 'connect ENETUNREACH 10.0.0.1:80', /no loopback/],
      ['127.0.0.1', 'connect ENETUNREACH 127.0.0.1:80', /no loopback/],
    ];
    const results = await Promise.all(cases.map(([host]) => failure(a.connect(80, host))));
    for (let i = 0; i < cases.length; i++) {
      const [host, message, cause] = cases[i]!;
      const { error, hadError } = results[i]!;
      assert.equal(error.message, message);
      assert.equal(error.syscall, 'connect');
      assert.equal(error.address, host);
      assert.equal(error.port, 80);
      assert.equal(hadError, true);
      if (cause) assert.match(String((error.cause as Error).message), cause);
    }
  });
});

test('binding: listen on an address not ours, localAddress not ours, localPort in use; localAddress+localPort name the local end', async () => {
  await withHosts(async (a, b) => {
    const foreign = b.createServer().listen(80, '10.0.0.9');
    const e1 = await once<SystemError>(foreign, 'error');
    assert.equal(e1.message, 'listen EADDRNOTAVAIL: address not available 10.0.0.9:80');
    assert.equal(e1.code, 'EADDRNOTAVAIL');

    const { error: e2 } = await failure(a.connect({ port: 80, host: '10.0.0.2', localAddress: '10.0.0.9' }));
    assert.equal(e2.message, 'bind EADDRNOTAVAIL 10.0.0.9');

    const busy = a.createServer().listen(7000);
    await once(busy, 'listening');
    const { error: e3 } = await failure(a.connect({ port: 80, host: '10.0.0.2', localPort: 7000 }));
    assert.equal(e3.message, 'bind EADDRINUSE 0.0.0.0:7000');
    busy.close();

    const { error: e4 } = await failure(a.connect({ port: 81, host: '10.0.0.2', localAddress: '10.0.0.1', localPort: 7001 }));
    assert.equal(e4.message, 'connect ECONNREFUSED 10.0.0.2:81 - Local (10.0.0.1:7001)');
    assert.deepEqual([e4.localAddress, e4.localPort], ['10.0.0.1', 7001]);

    const server = b.createServer((s) => {
      server.emit('peer', s.remotePort);
      s.end();
    });
    server.listen(80);
    await once(server, 'listening');
    const peerPort = once<number>(server, 'peer');
    const c = a.connect({ port: 80, host: '10.0.0.2', localAddress: '10.0.0.1', localPort: 7002 });
    c.resume();
    await once(c, 'connect');
    assert.equal(c.localPort, 7002);
    assert.equal(await peerPort, 7002);
    await once(c, 'close');
    server.close();
    await once(server, 'close');
  });
});

test('timeouts: a peer gone silent gives connect ETIMEDOUT and read ETIMEDOUT; a host going down aborts its sockets', async () => {
  const fast: TcpOptions = { initialRto: 50, minRto: 50, synRetries: 1, maxRetries: 2 };
  await withHosts(async (a, b, network) => {
    const accepted: Socket[] = [];
    const server = b.createServer((s) => accepted.push(s));
    server.listen(80);
    await once(server, 'listening');
    const c = a.connect(80, '10.0.0.2');
    await once(c, 'connect');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(accepted.length, 1);
    // Host B goes down: its sockets see ECONNABORTED; A is told nothing (no RST).
    const aborted = failure(accepted[0]!);
    network.hosts[1]!.close();
    const { error: down } = await aborted;
    assert.equal(down.message, 'read ECONNABORTED');
    // A's data is never acknowledged: retransmissions give up.
    c.write('anyone there?');
    const { error: e1, hadError } = await failure(c);
    assert.equal(e1.message, 'read ETIMEDOUT');
    assert.equal(e1.code, 'ETIMEDOUT');
    assert.equal(hadError, true);
    // A new connection: B's address is still in A's ARP cache, the SYNs go unanswered.
    const { error: e2 } = await failure(a.connect(80, '10.0.0.2'));
    assert.equal(e2.message, 'connect ETIMEDOUT 10.0.0.2:80');
  }, fast);
});

test('setNoDelay and setKeepAlive reach the TCP connection; keepalive probes keep an idle connection checked', async () => {
  await withHosts(async (a, b, network) => {
    const server = b.createServer({ keepAlive: true, keepAliveInitialDelay: 1000, noDelay: true }, (s) => server.emit('socket', s));
    server.listen(80);
    await once(server, 'listening');
    const accepted = once<Socket>(server, 'socket');
    const c = a.connect({ port: 80, host: '10.0.0.2', noDelay: true });
    await once(c, 'connect');
    const s = await accepted;
    const hostA = network.hosts[0]!.stack;
    const hostB = network.hosts[1]!.stack;
    const clientConn = hostA.tcp.lookup(hostA.address, c.localPort!, hostB.address, 80)!;
    const serverConn = hostB.tcp.lookup(hostB.address, 80, hostA.address, c.localPort!)!;
    assert.equal(clientConn.snd.noDelay, true);
    assert.equal(serverConn.snd.noDelay, true);
    c.setNoDelay(false);
    assert.equal(clientConn.snd.noDelay, false);
    assert.equal(c.setKeepAlive(true, 1000), c);
    // Idle for 1 s: both ends probe, both answer; the connection stays up.
    const probed = (): boolean => hostA.tcp.counters.keepaliveProbes >= 1 && hostB.tcp.counters.keepaliveProbes >= 1;
    for (let waited = 0; waited < 5000 && !probed(); waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.ok(hostA.tcp.counters.keepaliveProbes >= 1, 'the client probed');
    assert.ok(hostB.tcp.counters.keepaliveProbes >= 1, 'the server probed');
    assert.equal(clientConn.stateName, 'ESTABLISHED');
    c.end();
    s.end();
    await Promise.all([once(c, 'close'), once(s, 'close')]);
    server.close();
  });
});
