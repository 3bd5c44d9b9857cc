/** The Prometheus text exposition of Shoal's counters (src/api/metrics.ts), read back by a Prometheus text parser. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { prometheusText } from '../../src/api/metrics.js';
import { MemoryNetwork } from '../../src/api/network.js';
import { VirtualClock } from '../../src/time/clock.js';

test('metrics: every counter of two shards becomes a family with HELP and TYPE, a sample per shard; connections by state are a gauge', () => {
  const net = new MemoryNetwork({ clock: new VirtualClock() });
  net.loop.stop();
  const a = net.addHost();
  const b = net.addHost();
  b.stack.tcp.listen(80);
  a.stack.tcp.connect({ dst: b.stack.address, dstPort: 80 });
  net.loop.runUntil({ until: 1000 });
  const text = prometheusText([
    { shard: 0, queue: 0, layers: { ...a.stack.counters(), pool: { framesInUse: 3 } } },
    { shard: 1, queue: 1, layers: { ...b.stack.counters(), pool: { framesInUse: 0 } } },
  ]);
  net.close();
  const families = parsePrometheusTextFormat(text);
  const byName = new Map(families.map((f) => [f.name, f]));
  const opens = byName.get('shoal_tcp_active_opens_total')!;
  assert.equal(opens.type, 'COUNTER');
  assert.match(opens.help, /tcp\.activeOpens/);
  assert.deepEqual(opens.metrics.map((m) => [m.labels?.['shard'], m.value]), [['0', '1'], ['1', '0']]);
  const states = byName.get('shoal_tcp_connections')!;
  assert.equal(states.type, 'GAUGE');
  assert.equal(states.metrics.find((m) => m.labels?.['shard'] === '1' && m.labels['state'] === 'established')?.value, '1');
  assert.equal(byName.get('shoal_pool_frames_in_use')?.type, 'GAUGE');
  // Every line is a HELP, a TYPE or a sample of the family announced just before it.
  let family = '';
  for (const line of text.trimEnd().split('\n')) {
    const m = /^# (HELP|TYPE) (\S+) /.exec(line);
    if (m !== null) family = m[2]!;
    else assert.ok(line.startsWith(`${family}{`), line);
  }
  assert.ok(text.endsWith('\n'));
});
