import { writeFileSync } from 'node:fs';
import { MAX_CPU_PROFILE_S } from '../../daemon/profiler.js';
import { parse, UsageError } from '../args.js';
import { createOutput } from '../output.js';
import { CommandError } from '../session.js';
import type { Command } from './types.js';

const OPTIONS = {
  cpu: { type: 'string' },
  heap: { type: 'boolean' },
  api: { type: 'string' },
  token: { type: 'string' },
  out: { type: 'string', short: 'o' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Time for the daemon to take a heap snapshot and send it, on top of a CPU profile's own length. */
const TRANSFER_MARGIN_MS = 120_000;

export const profile: Command = {
  name: 'profile',
  summary: 'capture a CPU profile or heap snapshot of a running daemon',
  help: `Usage: kadmium profile [--cpu SECONDS | --heap] [--out FILE]

Asks a running "kadmium daemon" for a CPU profile over the next SECONDS (default 5, at
most ${MAX_CPU_PROFILE_S}) or a V8 heap snapshot, and writes it to FILE. Open .cpuprofile in Chrome
DevTools (Performance tab) and .heapsnapshot in its Memory tab. The daemon must have
api.token set; the token is read from --token or KADMIUM_API_TOKEN.

      --cpu SECONDS          CPU profile (the default, 5 s)
      --heap                 heap snapshot instead (pauses the daemon while it is taken)
      --api URL              the daemon's API (default http://127.0.0.1:7881)
      --token TOKEN          bearer token (default: $KADMIUM_API_TOKEN)
  -o, --out FILE             where to write (default kadmium-<time>.cpuprofile / .heapsnapshot)
      --json                 print {"file", "bytes"} for scripts
  -h, --help                 this help`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    if (values.heap && values.cpu !== undefined) throw new UsageError('choose one of --cpu and --heap');
    const seconds = values.cpu === undefined ? 5 : Number(values.cpu);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_CPU_PROFILE_S)
      throw new UsageError(`--cpu must be a number of seconds above 0 and at most ${MAX_CPU_PROFILE_S}`);
    const token = values.token ?? process.env.KADMIUM_API_TOKEN;
    if (!token)
      throw new UsageError("no token: pass --token or set KADMIUM_API_TOKEN (the daemon's api.token)");
    const base = values.api ?? 'http://127.0.0.1:7881';
    const kind = values.heap ? 'heap' : 'cpu';
    const url = new URL(kind === 'heap' ? '/api/profile/heap' : `/api/profile/cpu?seconds=${seconds}`, base);
    const file =
      values.out ??
      `kadmium-${new Date().toISOString().replace(/[:.]/g, '-')}.${kind === 'heap' ? 'heapsnapshot' : 'cpuprofile'}`;
    if (!out.json) out.info(kind === 'heap' ? 'taking a heap snapshot…' : `profiling for ${seconds} s…`);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(seconds * 1000 + TRANSFER_MARGIN_MS),
      });
    } catch (err) {
      throw new CommandError(`cannot reach the daemon at ${base}: ${(err as Error).message}; is it running?`);
    }
    const body = await res.text();
    if (!res.ok) {
      let message = body;
      try {
        message = (JSON.parse(body) as { error: { message: string } }).error.message;
      } catch {
        // not our JSON error: show the text
      }
      throw new CommandError(`the daemon refused (${res.status}): ${message}`);
    }
    writeFileSync(file, body);
    const bytes = Buffer.byteLength(body);
    if (out.json) process.stdout.write(`${JSON.stringify({ file, bytes })}\n`);
    else out.line(`wrote ${file} (${bytes} bytes)`);
    return 0;
  },
};
