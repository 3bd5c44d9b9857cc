/**
 * The DHCP client against Debian's dnsmasq, run inside the test's own namespace on the
 * TAP's kernel side (10.77.0.1/24), bound to that interface only: every DHCP broadcast
 * stays on the TAP. dnsmasq is started and killed by PID (TapWorld.spawn); DNS is off
 * (--port=0), and it reads no configuration, hosts or resolv.conf of the machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIpv4, parseIpv4 } from '../../src/wire/addr.js';
import { DhcpClient, type DhcpLease } from '../../src/stack/dhcp.js';
import { KERNEL_IP, requireTap, withTapWorld } from './tap-netns.js';

test('tap: Shoal, with no address, gets a lease from dnsmasq in the namespace (checked by ARP first), the kernel pings it, and the lease is released', { timeout: 60_000 }, async (t) => {
  if (!requireTap(t, 'dnsmasq', 'ping')) return;
  const dir = mkdtempSync(join(tmpdir(), 'shoal-dhcp-'));
  try {
    await withTapWorld(
      {},
      async (w) => {
        const stack = w.host!.stack;
        assert.equal(stack.address, 0);
        const server = w.spawn('dnsmasq', [
          '--no-daemon',
          '--conf-file=/dev/null',
          '--log-facility=-',
          '--port=0',
          '--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0,2m',
          `--dhcp-leasefile=${join(dir, 'leases')}`,
          `--interface=${w.tapName}`,
          '--bind-interfaces',
          '--no-resolv',
          '--no-hosts',
          `--pid-file=${join(dir, 'pid')}`,
        ]);
        let log = '';
        server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
        server.stdout!.on('data', (d: Buffer) => (log += d.toString()));
        let bound: (l: DhcpLease) => void = () => {};
        const dhcp = new DhcpClient(stack, { onBound: (l) => bound(l) });
        const lease = await new Promise<DhcpLease>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no lease within 30 s (client ${dhcp.state}, ${JSON.stringify(dhcp.counters)}); dnsmasq said:\n${log}`)), 30_000);
          server.once('exit', (code) => reject(new Error(`dnsmasq exited (${code}):\n${log}`)));
          bound = (l) => {
            clearTimeout(timer);
            resolve(l);
          };
          dhcp.start();
          w.loop!.wake();
        });
        const a = lease.address;
        assert.ok(a >= parseIpv4('10.77.0.50') && a <= parseIpv4('10.77.0.60'), `leased ${formatIpv4(a)}`);
        assert.equal(lease.prefix, 24);
        assert.equal(lease.server, parseIpv4(KERNEL_IP));
        // dnsmasq's default router is itself; a 2-minute lease.
        assert.equal(lease.gateway, parseIpv4(KERNEL_IP));
        assert.equal(lease.leaseTime, 120);
        assert.equal(stack.address, a);
        const ping = await w.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', formatIpv4(a)]);
        assert.match(ping.stdout, /3 packets transmitted, 3 received/);
        const ip = formatIpv4(a).replace(/\./g, '\\.');
        assert.match(log, new RegExp(`DHCPACK\\(${w.tapName}\\) ${ip}`));
        assert.equal(dhcp.counters.probes, 3, 'the address was checked with ARP probes first');
        // The lease goes back: dnsmasq logs the RELEASE.
        assert.equal(dhcp.release(), true);
        w.loop!.wake();
        const released = new RegExp(`DHCPRELEASE\\(${w.tapName}\\) ${ip}`);
        for (let i = 0; i < 100 && !released.test(log); i++) await new Promise((r) => setTimeout(r, 50));
        assert.match(log, released);
        assert.equal(stack.address, 0);
      },
      1,
      null,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
