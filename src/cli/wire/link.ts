/**
 * What `shoal serve` and `shoal ping` run on: a Shoal host on a real link (`--link
 * tap:NAME` — the TAP interface NAME, created or attached to; the kernel is the other
 * end), with `--ip ADDR/PREFIX` or `--dhcp`, an optional `--gateway`, and an optional
 * pcap capture.
 * Every failure to set it up is one line (a UsageError for a bad flag; the TAP's own
 * one-line errors for privilege, a missing /dev/net/tun or a busy device).
 */
import type { ParseArgsConfig } from 'node:util';
import { Host } from '../../api/host.js';
import { CaptureDevice } from '../../link/capture.js';
import type { Device } from '../../link/device.js';
import { PcapWriter } from '../../link/pcap.js';
import { TapDevice } from '../../link/tap/device.js';
import { parseCidr } from '../../stack/stack.js';
import { DhcpClient } from '../../stack/dhcp.js';
import { RealClock } from '../../time/clock.js';
import { EventLoop } from '../../time/loop.js';
import { parseIpv4 } from '../../wire/addr.js';
import { UsageError } from '../usage.js';
import { configureKernelSide } from './kernel-side.js';

export const LINK_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  link: { type: 'string' },
  ip: { type: 'string' },
  dhcp: { type: 'boolean' },
  gateway: { type: 'string' },
  pcap: { type: 'string' },
  'kernel-ip': { type: 'string' },
};

export const LINK_HELP = `  --link tap:NAME  the TAP interface NAME (created, or attached to if it exists; needs
                   CAP_NET_ADMIN); its other end is the kernel's interface NAME
  --kernel-ip A.B.C.D/N  give the kernel's side of the TAP this address and bring it
                   up (with ip(8)); or configure it yourself
  --ip A.B.C.D/N   Shoal's address and prefix length on the link
  --dhcp           get the address (and gateway) from a DHCP server on the link instead
  --gateway A.B.C.D  where other networks are (default: none)
  --pcap FILE      capture Shoal's frames to FILE (pcap)`;

export interface WiredHost {
  readonly host: Host;
  readonly loop: EventLoop;
  readonly tap: TapDevice;
  readonly label: string;
  /** The DHCP client (--dhcp), or null. */
  dhcp: DhcpClient | null;
  /** Stops everything: a DHCP lease released, the host, the loop, the capture (flushed), the TAP. */
  close(): Promise<void>;
}

/** A WiredHost whose address comes from DHCP (--dhcp) or --ip; resolves once it has one. */
export async function openWiredHostWithAddress(values: Record<string, string | boolean | undefined>, seed = 1): Promise<WiredHost> {
  const wired = openWiredHost(values, seed);
  if (!values['dhcp']) return wired;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DHCP lease on ${String(values['link'])} within ${DHCP_WAIT_S} s (is a DHCP server on the link?)`)), DHCP_WAIT_S * 1000);
      const dhcp = new DhcpClient(wired.host.stack, {
        onBound: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      wired.dhcp = dhcp;
      dhcp.start();
      wired.host.loop.wake();
    });
  } catch (e) {
    await wired.close();
    throw e;
  }
  return wired;
}

const DHCP_WAIT_S = 60;
/** How long close() waits for a DHCPRELEASE to leave before tearing the host down. */
const RELEASE_WAIT_MS = 500;

/** What the link flags say, checked (each mistake a UsageError of one line); nothing is opened. */
export interface LinkFlags {
  link: string;
  tapName: string;
  /** 'A.B.C.D/N', or undefined with --dhcp. */
  address: string | undefined;
  dhcp: boolean;
  gateway: string | undefined;
  pcap: string | undefined;
  /** --kernel-ip: the kernel side's address, to set once the TAP exists. */
  kernelIp: string | undefined;
}

export function parseLinkFlags(values: Record<string, string | boolean | undefined>): LinkFlags {
  const link = values['link'];
  if (typeof link !== 'string') throw new UsageError('--link is required (e.g. --link tap:shoal0)');
  const m = /^tap:(.+)$/.exec(link);
  if (m === null) throw new UsageError(`--link takes tap:NAME, got '${link}'`);
  const ipText = values['ip'];
  const dhcp = values['dhcp'] === true;
  if (dhcp && ipText !== undefined) throw new UsageError('--ip and --dhcp do not go together: the address is either given or leased');
  if (!dhcp && typeof ipText !== 'string') throw new UsageError('--ip (or --dhcp) is required (e.g. --ip 10.77.0.2/24)');
  let address: string | undefined;
  if (typeof ipText === 'string') {
    try {
      const { address: a, prefix } = parseCidr(ipText);
      if (a === 0) throw new Error('0.0.0.0');
      address = `${ipText.split('/')[0]}/${prefix}`;
    } catch {
      throw new UsageError(`--ip takes an address with a prefix length (e.g. 10.77.0.2/24), got '${ipText}'`);
    }
  }
  const gw = values['gateway'];
  if (gw !== undefined) {
    try {
      parseIpv4(String(gw));
    } catch {
      throw new UsageError(`--gateway takes an IPv4 address, got '${String(gw)}'`);
    }
  }
  const pcap = typeof values['pcap'] === 'string' ? values['pcap'] : undefined;
  const kernelIp = values['kernel-ip'];
  if (kernelIp !== undefined) {
    try {
      if (typeof kernelIp !== 'string' || parseCidr(kernelIp).address === 0) throw new Error('no address');
    } catch {
      throw new UsageError(`--kernel-ip takes an address with a prefix length (e.g. 10.77.0.1/24), got '${String(kernelIp)}'`);
    }
  }
  return { link, tapName: m[1]!, address, dhcp, gateway: typeof gw === 'string' ? gw : undefined, pcap, kernelIp: kernelIp as string | undefined };
}

export function openWiredHost(values: Record<string, string | boolean | undefined>, seed = 1): WiredHost {
  const { link, tapName, address, gateway: gw, pcap: pcapPath, kernelIp } = parseLinkFlags(values);
  const tap = TapDevice.open({ name: tapName });
  if (kernelIp !== undefined) {
    try {
      configureKernelSide(tap.name, kernelIp);
    } catch (e) {
      tap.close();
      throw e;
    }
  }
  const loop = new EventLoop(new RealClock());
  tap.attach(loop);
  let device: Device = tap;
  let pcap: PcapWriter | null = null;
  if (pcapPath !== undefined) {
    pcap = PcapWriter.toFile(pcapPath, loop.clock.epochMs);
    device = new CaptureDevice(tap, pcap, loop.clock);
  }
  const host = new Host({ device, address, gateway: gw, loop, seed });
  loop.start();
  return {
    host,
    loop,
    tap,
    label: `${link} ${address ?? 'DHCP'}`,
    dhcp: null,
    async close() {
      const dhcp = this.dhcp;
      if (dhcp !== null && dhcp.release()) {
        // The lease goes back to the server (§4.4.6); give the RELEASE a moment to leave.
        loop.wake();
        const until = Date.now() + RELEASE_WAIT_MS;
        while (dhcp.state !== 'STOPPED' && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      }
      dhcp?.stop();
      host.close();
      loop.stop();
      tap.close();
      pcap?.close();
    },
  };
}
