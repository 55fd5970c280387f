/**
 * Two network namespaces joined by a veth pair, made and torn down by the chaos harness, and the
 * faults it injects between them. Namespaces are named `kchaos-<tag>-a` / `-b` (the NAT test bed
 * uses its own prefix). Loss and partitions are iptables rules inside the namespaces; delay needs
 * the kernel's netem qdisc, which not every kernel has (then `delay` says so and does nothing).
 */
import { execFileSync, spawnSync } from 'node:child_process';

export const CHAOS_PREFIX = 'kchaos-';
export const SUBNET = '10.77.0';

export interface Pair {
  readonly a: string;
  readonly b: string;
  readonly hostA: string;
  readonly hostB: string;
  readonly vethA: string;
  readonly vethB: string;
}

function run(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function inNs(ns: string, cmd: string, args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, err: (r.stderr || r.error?.message || '').trim() };
}

/** Check we can do this at all (root, iproute2, iptables); the message says what is missing. */
export function preflight(): string | undefined {
  if (process.getuid?.() !== 0) return 'kadmium chaos needs root (it creates network namespaces)';
  for (const tool of ['ip', 'iptables']) {
    const r = spawnSync(tool, ['-V'], { encoding: 'utf8' });
    if (r.error) return `${tool} is not installed: run bash scripts/deps/chaos.sh`;
  }
  return undefined;
}

export function createPair(tag: string): Pair {
  const pair: Pair = {
    a: `${CHAOS_PREFIX}${tag}-a`,
    b: `${CHAOS_PREFIX}${tag}-b`,
    hostA: `${SUBNET}.1`,
    hostB: `${SUBNET}.2`,
    // Interface names are at most 15 bytes.
    vethA: `kc${tag}a`.slice(0, 15),
    vethB: `kc${tag}b`.slice(0, 15),
  };
  try {
    run(['netns', 'add', pair.a]);
    run(['netns', 'add', pair.b]);
    run(['link', 'add', pair.vethA, 'type', 'veth', 'peer', 'name', pair.vethB]);
    run(['link', 'set', pair.vethA, 'netns', pair.a]);
    run(['link', 'set', pair.vethB, 'netns', pair.b]);
    for (const [ns, dev, host] of [
      [pair.a, pair.vethA, pair.hostA],
      [pair.b, pair.vethB, pair.hostB],
    ] as const) {
      run(['-n', ns, 'link', 'set', 'lo', 'up']);
      run(['-n', ns, 'addr', 'add', `${host}/24`, 'dev', dev]);
      run(['-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (err) {
    destroyPair(pair);
    throw new Error(`cannot create the chaos namespaces: ${(err as Error).message}`);
  }
  return pair;
}

/** Remove both namespaces (the veth pair goes with them). Safe to call twice. */
export function destroyPair(pair: Pair): void {
  for (const ns of [pair.a, pair.b])
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
}

/** Drop `rate` of the UDP datagrams each namespace receives. */
export function loss(pair: Pair, rate: number): void {
  for (const ns of [pair.a, pair.b]) {
    const r = inNs(ns, 'iptables', [
      '-A',
      'INPUT',
      '-p',
      'udp',
      '-m',
      'statistic',
      '--mode',
      'random',
      '--probability',
      String(rate),
      '-j',
      'DROP',
    ]);
    if (!r.ok) throw new Error(`iptables loss rule failed in ${ns}: ${r.err}`);
  }
}

/** Cut the link between the namespaces (both directions). */
export function partition(pair: Pair): void {
  for (const [chain, flag] of [
    ['INPUT', '-i'],
    ['OUTPUT', '-o'],
  ] as const) {
    const r = inNs(pair.a, 'iptables', ['-A', chain, flag, pair.vethA, '-j', 'DROP']);
    if (!r.ok) throw new Error(`iptables partition rule failed: ${r.err}`);
  }
}

/** Add one-way delay with netem; returns why not when the kernel has no netem. */
export function delay(pair: Pair, ms: number): string | undefined {
  for (const [ns, dev] of [
    [pair.a, pair.vethA],
    [pair.b, pair.vethB],
  ] as const) {
    const r = inNs(ns, 'tc', ['qdisc', 'replace', 'dev', dev, 'root', 'netem', 'delay', `${ms}ms`]);
    if (!r.ok) return `netem unavailable (${r.err})`;
  }
  return undefined;
}

/** Remove every fault: iptables rules and qdiscs. */
export function heal(pair: Pair): void {
  for (const [ns, dev] of [
    [pair.a, pair.vethA],
    [pair.b, pair.vethB],
  ] as const) {
    inNs(ns, 'iptables', ['-F']);
    inNs(ns, 'tc', ['qdisc', 'del', 'dev', dev, 'root']);
  }
}
