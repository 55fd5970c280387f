import { CHAOS_DEFAULTS, formatFault, runChaos } from '../chaos/harness.js';
import { COMMON_OPTIONS, parse, parsePositiveInt } from '../args.js';
import { createOutput } from '../output.js';
import type { Command } from './types.js';

const OPTIONS = {
  nodes: { type: 'string', short: 'n' },
  'fault-seconds': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  json: COMMON_OPTIONS.json,
  help: COMMON_OPTIONS.help,
} as const;

export const chaos: Command = {
  name: 'chaos',
  summary:
    'run real nodes in two network namespaces and measure lookups through loss, delay, a partition, a kill and a Redis restart',
  help: `Usage: kadmium chaos [--nodes N] [--fault-seconds S]

Needs root, iproute2 and iptables. Creates namespaces kchaos-<tag>-a/-b joined by a veth pair,
starts N nodes in each, then injects, one after another: 10% loss, 100 ms delay (when the kernel
has netem), a partition, killing every node of one side (restarted after), and, when
redis-server is installed, restarting empty the Redis that side A's nodes store in (held at least
12 s; the report counts stored peers lost, the goal being 0). Probes announce
from one side and get_peers from the other (cross) and the same side (local), and report success
before, during and after each fault, and the time to the first cross success after it ends.
Everything is removed at the end, also on failure or Ctrl-C.

  -n, --nodes N          nodes per namespace (default ${CHAOS_DEFAULTS.nodes})
      --fault-seconds S  how long each fault lasts (default ${CHAOS_DEFAULTS.faultMs / 1000})
      --json             print the reports as JSON`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false, values.quiet ?? false);
    const reports = await runChaos({
      ...CHAOS_DEFAULTS,
      nodes: parsePositiveInt(values.nodes, CHAOS_DEFAULTS.nodes, '--nodes', 64),
      faultMs:
        parsePositiveInt(values['fault-seconds'], CHAOS_DEFAULTS.faultMs / 1000, '--fault-seconds', 600) *
        1000,
      onLine: (line) => out.info(line),
    });
    out.result(reports);
    for (const r of reports) out.line(formatFault(r));
    return reports.every((r) => r.skipped || r.recoverMs !== undefined) ? 0 : 1;
  },
};
