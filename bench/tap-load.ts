/**
 * The load generator and the servers of the TAP benchmark (bench/tap.ts), the same code on
 * every side, run as `node -e LOAD_SCRIPT MODE ...` in a namespace; results come as one
 * JSON line on stdout, servers print READY once listening:
 * - `send HOST PORT S` writes 64 KiB chunks for S seconds, then ends;
 * - `sink PORT` counts one connection's bytes, prints MB/s over its life, exits;
 * - `echo PORT` answers every byte of one connection, exits when it ends;
 * - `echos PORT` answers every byte of any number of connections, ending each when the
 *   client ends, until killed;
 * - `rr HOST PORT S` sends one byte and waits for it, for S seconds: round trips/s;
 * - `rrn HOST PORT S N` the same on N connections at once: round trips/s of all;
 * - `conn HOST PORT S LOOPS` opens a connection, sends 32 bytes, reads them back, closes
 *   (the client closes first), and again, in LOOPS concurrent loops so that one
 *   connection's round trips are not the only bound: connections/s and failures;
 * - `probe HOST PORT` connects until a connection succeeds (at most 10 s): a server
 *   started by another program is listening.
 */
export const LOAD_SCRIPT = `
const net = require('node:net');
const [mode, a, b, c, d] = process.argv.slice(1);
const chunk = Buffer.alloc(65536, 0x5a);
const report = (o) => { console.log(JSON.stringify(o)); process.exit(0); };
if (mode === 'sink' || mode === 'echo') {
  net.createServer((s) => {
    s.setNoDelay(true);
    let bytes = 0, t0 = 0;
    s.on('data', (x) => { if (!t0) t0 = performance.now(); bytes += x.length; if (mode === 'echo') s.write(x); });
    s.on('end', () => { if (mode === 'sink') console.log(JSON.stringify({ mbps: bytes / 1e6 / ((performance.now() - t0) / 1000) })); s.end(); process.exit(0); });
    s.on('error', () => process.exit(1));
  }).listen(Number(a), () => console.log('READY'));
} else if (mode === 'echos') {
  net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (x) => s.write(x));
    s.on('end', () => s.end());
    s.on('error', () => {});
  }).listen(Number(a), () => console.log('READY'));
} else if (mode === 'send') {
  const s = net.connect(Number(b), a, () => {
    const end = performance.now() + Number(c) * 1000;
    const pump = () => { while (performance.now() < end) { if (!s.write(chunk)) return s.once('drain', pump); } s.end(); };
    pump();
  });
  s.on('close', () => process.exit(0));
} else if (mode === 'rr') {
  const s = net.connect(Number(b), a, () => {
    s.setNoDelay(true);
    const end = performance.now() + Number(c) * 1000;
    const t0 = performance.now();
    let trips = 0;
    s.on('data', () => { trips++; if (performance.now() < end) s.write('x'); else { s.destroy(); report({ rate: trips / ((performance.now() - t0) / 1000) }); } });
    s.write('x');
  });
} else if (mode === 'rrn') {
  const t0 = performance.now();
  const end = t0 + Number(c) * 1000;
  let trips = 0, live = Number(d);
  for (let i = 0; i < Number(d); i++) {
    const s = net.connect(Number(b), a, () => { s.setNoDelay(true); s.write('x'); });
    s.on('data', () => {
      trips++;
      if (performance.now() < end) s.write('x');
      else { s.destroy(); if (--live === 0) report({ rate: trips / ((performance.now() - t0) / 1000) }); }
    });
    s.on('error', () => process.exit(1));
  }
} else if (mode === 'conn') {
  const req = Buffer.alloc(32, 0x61);
  const t0 = performance.now();
  const end = t0 + Number(c) * 1000;
  let done = 0, failed = 0, live = Number(d);
  const one = () => {
    if (performance.now() >= end) {
      if (--live === 0) report({ rate: done / ((performance.now() - t0) / 1000), failed });
      return;
    }
    let got = 0, error = false;
    const s = net.connect(Number(b), a, () => { s.setNoDelay(true); s.write(req); });
    s.on('data', (x) => { got += x.length; if (got >= req.length) s.end(); });
    s.on('error', () => { error = true; });
    s.on('close', () => { if (error || got < req.length) failed++; else done++; one(); });
  };
  for (let i = 0; i < live; i++) one();
} else if (mode === 'probe') {
  const until = performance.now() + 10000;
  const attempt = () => {
    const s = net.connect(Number(b), a, () => { s.destroy(); process.exit(0); });
    s.on('error', () => { if (performance.now() > until) process.exit(1); setTimeout(attempt, 50); });
  };
  attempt();
}
`;
