/** `shoal ping HOST`: ICMP echo from a Shoal stack on a real link, as ping(8) prints it. */
import type { ParseArgsConfig } from 'node:util';
import { formatIpv4, parseIpv4 } from '../../wire/addr.js';
import { integerFlag, numberFlag, UsageError } from '../usage.js';
import { LINK_HELP, LINK_OPTIONS, openWiredHostWithAddress } from './link.js';

export const PING_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  ...LINK_OPTIONS,
  count: { type: 'string', short: 'c' },
  size: { type: 'string', short: 's' },
  interval: { type: 'string', short: 'i' },
};

export const PING_HELP = `Usage: shoal ping HOST --link tap:NAME (--ip A.B.C.D/N | --dhcp) [options]

Sends ICMP echo requests from a Shoal stack on a real link and prints the replies.
Exit code 0 when at least one reply came, 1 when none did.

Options:
${LINK_HELP}
  -c, --count N    requests to send (default 4)
  -s, --size N     data bytes per request (default 56; up to 65507, fragmented)
  -i, --interval S seconds between requests (default 1)
  -h, --help       this text`;

export async function runPing(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const target = positionals[0];
  if (target === undefined) throw new UsageError('ping takes a HOST (an IPv4 address)');
  let dst: number;
  try {
    dst = parseIpv4(target);
  } catch {
    throw new UsageError(`ping takes an IPv4 address (Shoal resolves no names), got '${target}'`);
  }
  const count = integerFlag('count', values['count'], 4, 1, 1_000_000);
  const size = integerFlag('size', values['size'], 56, 0, 65507);
  const interval = numberFlag('interval', values['interval'], 1, 0.01, 3600);
  const wired = await openWiredHostWithAddress(values);
  const { host } = wired;
  const id = process.pid & 0xffff;
  const sentAt = new Map<number, number>();
  const rtts: number[] = [];
  console.log(`PING ${formatIpv4(dst)} ${size} data bytes from ${wired.label}`);
  host.stack.icmp.onEchoReply = (src, rid, seq, data) => {
    const t0 = sentAt.get(seq);
    if (rid !== id || t0 === undefined) return;
    sentAt.delete(seq);
    const rtt = performance.now() - t0;
    rtts.push(rtt);
    console.log(`${data.length + 8} bytes from ${formatIpv4(src)}: icmp_seq=${seq} time=${rtt.toFixed(3)} ms`);
  };
  const payload = new Uint8Array(size).map((_, i) => i & 0xff);
  for (let seq = 1; seq <= count; seq++) {
    sentAt.set(seq, performance.now());
    host.stack.icmp.sendEcho(dst, id, seq, payload);
    host.loop.wake();
    await new Promise((r) => setTimeout(r, seq < count ? interval * 1000 : Math.max(1000, interval * 1000)));
  }
  const loss = (100 * (count - rtts.length)) / count;
  console.log(`--- ${formatIpv4(dst)} ping statistics ---`);
  console.log(`${count} packets transmitted, ${rtts.length} received, ${loss.toFixed(0)}% packet loss`);
  if (rtts.length > 0) {
    const min = Math.min(...rtts);
    const max = Math.max(...rtts);
    const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
    console.log(`rtt min/avg/max = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)} ms`);
  }
  await wired.close();
  return rtts.length > 0 ? 0 : 1;
}
