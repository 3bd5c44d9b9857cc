/**
 * Every counter of every layer in Prometheus's text exposition format (version 0.0.4):
 * one metric family per counter, a sample per shard (and device queue), with HELP and
 * TYPE lines. `shoal_<layer>_<name>_total` for counters; TCP connections by state and
 * pool frames in use are gauges.
 *
 * Written here rather than with prom-client: the figures are snapshots gathered from the
 * shards' threads at each scrape, and prom-client's counters only increase from where
 * they are (each scrape would reset and re-add every one); the format itself is a few
 * lines of text per family.
 */

/** One shard's counters: layer name → its counter object (nested objects are flattened). */
export interface MetricsSample {
  shard: number;
  queue: number;
  layers: Record<string, unknown>;
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  lines: string[];
}

function snake(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .toLowerCase();
}

/** A label value with \\, " and newlines escaped (the format's rule). */
function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The exposition text of `samples` (ends with a newline). */
export function prometheusText(samples: readonly MetricsSample[]): string {
  const families = new Map<string, Family>();
  const add = (name: string, help: string, type: Family['type'], labels: Record<string, string>, value: number): void => {
    let f = families.get(name);
    if (f === undefined) {
      f = { name, help, type, lines: [] };
      families.set(name, f);
    }
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${labelValue(v)}"`)
      .join(',');
    f.lines.push(`${name}{${l}} ${Number.isFinite(value) ? value : 0}`);
  };
  for (const s of samples) {
    const base = { shard: String(s.shard), queue: String(s.queue) };
    for (const [layer, counters] of Object.entries(s.layers)) {
      const walk = (path: string[], v: unknown): void => {
        if (typeof v === 'number') {
          const dotted = [layer, ...path].join('.');
          if (layer === 'tcp' && path[0] === 'states' && path.length === 2) {
            add('shoal_tcp_connections', 'TCP connections in each state (TIME_WAIT included), per shard', 'gauge', { ...base, state: path[1]!.toLowerCase() }, v);
          } else if (/inUse$|InUse$/.test(path[path.length - 1]!)) {
            add(`shoal_${snake(layer)}_${path.map(snake).join('_')}`, `${dotted}: in use now, per shard`, 'gauge', base, v);
          } else {
            add(`shoal_${snake(layer)}_${path.map(snake).join('_')}_total`, `${dotted}, counted since start, per shard`, 'counter', base, v);
          }
        } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
          for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk([...path, k], x);
        }
      };
      walk([], counters);
    }
  }
  let out = '';
  for (const f of families.values()) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n${f.lines.join('\n')}\n`;
  }
  return out;
}
