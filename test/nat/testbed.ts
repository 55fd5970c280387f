/**
 * A NAT test bed in Linux network namespaces, independent of kadmium: a "public" bridge with
 * open hosts (rendezvous, STUN/TURN), NAT boxes of each type with one LAN host behind each, and
 * IPv6 on the public segment (dual stack). Everything it creates carries a prefix that names the
 * creating process, so a later run removes what a killed run left behind, and `teardown()` (also
 * run on process exit) removes everything even when a step failed.
 *
 * NAT types, as iptables rules on the NAT box (wan = the bridge side, lan = the host side):
 * - full cone: SNAT to the WAN address (ports kept) + DNAT of every inbound UDP packet to the host;
 * - address-restricted: the same, but inbound is DNATed only from IPs the host has sent to
 *   (`-m recent` records destinations on the way out);
 * - port-restricted: MASQUERADE (endpoint-independent mapping; conntrack filters per endpoint);
 * - symmetric: MASQUERADE --random-fully (a new random port per destination).
 * Every NAT box drops NEW inbound packets addressed to itself: without that rule an early punch
 * creates a conntrack entry that takes the external port and cone punching fails at random.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export type NatType = 'open' | 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric';
export const NAT_TYPES: readonly NatType[] = [
  'open',
  'full-cone',
  'address-restricted',
  'port-restricted',
  'symmetric',
];

/** One ip/iptables command; they take milliseconds, so anything near this is stuck. */
const COMMAND_TIMEOUT_MS = 10_000;
/** Most hosts one bed builds (addresses are 198.51.100.<n>). */
const MAX_HOSTS = 60;
export const PUBLIC_NET = '198.51.100';
export const PUBLIC_NET6 = '2001:db8::';

export interface Host {
  name: string;
  /** The namespace the host's processes run in. */
  ns: string;
  /** The host's own IPv4 address (a LAN address behind NAT). */
  ip: string;
  /** The host's IPv6 address on the public segment (open hosts only). */
  ip6: string | undefined;
  nat: NatType;
  /** The address the public segment sees (the NAT box's WAN address, or `ip` when open). */
  publicIp: string;
  /** The NAT box's namespace, when behind one. */
  natNs: string | undefined;
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { timeout: COMMAND_TIMEOUT_MS, encoding: 'utf8', stdio: 'pipe' });
}

function inNs(ns: string, cmd: string, args: string[]): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args]);
}

function namespaces(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.length > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Namespaces are named `kn<pid in base 36>x<name>`; remove those whose process is gone. */
export function removeStale(): number {
  let removed = 0;
  for (const ns of namespaces()) {
    const m = /^kn([0-9a-z]+)x/.exec(ns);
    if (!m || alive(parseInt(m[1] as string, 36))) continue;
    try {
      run('ip', ['netns', 'del', ns]);
      removed++;
    } catch {
      // Another run removed it first.
    }
  }
  return removed;
}

export class Testbed {
  readonly prefix = `kn${process.pid.toString(36)}x`;
  readonly hosts = new Map<string, Host>();
  private readonly created: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private nextPublic = 2;
  private nextLan = 1;
  private readonly bridgeNs: string;
  private readonly onExit = () => this.teardown();

  constructor() {
    removeStale();
    process.on('exit', this.onExit);
    this.bridgeNs = this.makeNs('pub');
    inNs(this.bridgeNs, 'ip', ['link', 'add', 'name', 'br0', 'type', 'bridge']);
    inNs(this.bridgeNs, 'ip', ['link', 'set', 'br0', 'up']);
  }

  private makeNs(name: string): string {
    const ns = this.prefix + name;
    run('ip', ['netns', 'add', ns]);
    this.created.push(ns);
    inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  private publicAddress(): number {
    if (this.nextPublic >= MAX_HOSTS + 2) throw new Error(`a test bed holds at most ${MAX_HOSTS} hosts`);
    return this.nextPublic++;
  }

  /** A veth from `ns` (named `dev` there) into the public bridge, with a v4 and a v6 address. */
  private plugPublic(ns: string, dev: string, n: number): { ip: string; ip6: string } {
    const outer = `${this.prefix}p${n}`.slice(-15);
    run('ip', ['link', 'add', 'name', outer, 'type', 'veth', 'peer', 'name', `${outer}i`.slice(-15)]);
    run('ip', ['link', 'set', outer, 'netns', this.bridgeNs]);
    run('ip', ['link', 'set', `${outer}i`.slice(-15), 'netns', ns]);
    inNs(this.bridgeNs, 'ip', ['link', 'set', outer, 'master', 'br0', 'up']);
    inNs(ns, 'ip', ['link', 'set', `${outer}i`.slice(-15), 'name', dev]);
    const ip = `${PUBLIC_NET}.${n}`;
    const ip6 = `${PUBLIC_NET6}${n.toString(16)}`;
    inNs(ns, 'ip', ['addr', 'add', `${ip}/24`, 'dev', dev]);
    // nodad: the address is usable at once instead of after duplicate detection (~1 s).
    inNs(ns, 'ip', ['addr', 'add', `${ip6}/64`, 'dev', dev, 'nodad']);
    inNs(ns, 'ip', ['link', 'set', dev, 'up']);
    return { ip, ip6 };
  }

  /** A host directly on the public segment; `extraIps` adds more v4 addresses (a STUN server's second IP). */
  addOpen(name: string, extraIps = 0): Host {
    const ns = this.makeNs(name);
    const { ip, ip6 } = this.plugPublic(ns, 'wan', this.publicAddress());
    for (let i = 0; i < extraIps; i++)
      inNs(ns, 'ip', ['addr', 'add', `${PUBLIC_NET}.${this.publicAddress()}/24`, 'dev', 'wan']);
    const host: Host = { name, ns, ip, ip6, nat: 'open', publicIp: ip, natNs: undefined };
    this.hosts.set(name, host);
    return host;
  }

  /** A NAT box of `nat` type on the public segment and one host on its LAN. */
  addNatted(name: string, nat: Exclude<NatType, 'open'>): Host {
    const lan = this.nextLan++;
    const box = this.makeNs(`${name}n`);
    const ns = this.makeNs(name);
    const { ip: wanIp } = this.plugPublic(box, 'wan', this.publicAddress());
    const pair = `${this.prefix}l${lan}`.slice(-15);
    run('ip', ['link', 'add', 'name', pair, 'type', 'veth', 'peer', 'name', `${pair}h`.slice(-15)]);
    run('ip', ['link', 'set', pair, 'netns', box]);
    run('ip', ['link', 'set', `${pair}h`.slice(-15), 'netns', ns]);
    inNs(box, 'ip', ['link', 'set', pair, 'name', 'lan']);
    inNs(ns, 'ip', ['link', 'set', `${pair}h`.slice(-15), 'name', 'eth0']);
    const gw = `10.${lan}.0.1`;
    const ip = `10.${lan}.0.2`;
    inNs(box, 'ip', ['addr', 'add', `${gw}/24`, 'dev', 'lan']);
    inNs(box, 'ip', ['link', 'set', 'lan', 'up']);
    inNs(ns, 'ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    inNs(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    inNs(ns, 'ip', ['route', 'add', 'default', 'via', gw]);
    inNs(box, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    this.natRules(box, nat, wanIp, ip, `10.${lan}.0.0/24`);
    const host: Host = { name, ns, ip, ip6: undefined, nat, publicIp: wanIp, natNs: box };
    this.hosts.set(name, host);
    return host;
  }

  private natRules(box: string, nat: Exclude<NatType, 'open'>, wanIp: string, hostIp: string, lan: string) {
    const ipt = (...args: string[]) => inNs(box, 'iptables', args);
    // What real routers do: nothing unsolicited reaches the box itself.
    ipt('-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP');
    switch (nat) {
      case 'full-cone':
      case 'address-restricted': {
        ipt(
          '-t',
          'nat',
          '-A',
          'POSTROUTING',
          '-o',
          'wan',
          '-s',
          lan,
          '-p',
          'udp',
          '-j',
          'SNAT',
          '--to-source',
          wanIp,
        );
        const only =
          nat === 'address-restricted' ? ['-m', 'recent', '--name', 'sent', '--rsource', '--rcheck'] : [];
        if (nat === 'address-restricted')
          ipt(
            '-A',
            'FORWARD',
            '-i',
            'lan',
            '-o',
            'wan',
            '-m',
            'recent',
            '--name',
            'sent',
            '--rdest',
            '--set',
          );
        ipt(
          '-t',
          'nat',
          '-A',
          'PREROUTING',
          '-i',
          'wan',
          '-p',
          'udp',
          ...only,
          '-j',
          'DNAT',
          '--to-destination',
          hostIp,
        );
        ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE');
        break;
      }
      case 'port-restricted':
        ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE');
        break;
      case 'symmetric':
        ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE', '--random-fully');
        break;
    }
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in the test bed`);
    return h;
  }

  /**
   * Make two hosts strangers again: remove every connection-tracking entry (mapping) between
   * their public addresses on both NAT boxes, and the address-restricted boxes' memory of whom
   * they sent to. Mappings to everyone else (a rendezvous, a TURN server) stay.
   */
  forget(a: string, b: string): void {
    for (const [self, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const box = this.host(self).natNs;
      if (!box) continue;
      const peer = this.host(other).publicIp;
      for (const dir of ['--orig-dst', '--orig-src']) {
        try {
          inNs(box, 'conntrack', ['-D', dir, peer]);
        } catch {
          // conntrack -D exits 1 when nothing matched.
        }
      }
      if (this.host(self).nat === 'address-restricted')
        inNs(box, 'sh', ['-c', 'echo / > /proc/net/xt_recent/sent']);
    }
  }

  /**
   * Shorten how long the host's NAT box keeps an idle UDP mapping (Linux defaults: 30 s, and
   * 120 s once both sides spoke), so a test can wait past it in seconds.
   */
  setUdpTimeout(name: string, seconds: number): void {
    const box = this.host(name).natNs;
    if (!box) throw new Error(`${name} is not behind a NAT box`);
    inNs(box, 'sysctl', [
      '-q',
      '-w',
      `net.netfilter.nf_conntrack_udp_timeout=${seconds}`,
      `net.netfilter.nf_conntrack_udp_timeout_stream=${seconds}`,
    ]);
  }

  /** Run a command inside a host's namespace; the process is killed at teardown. */
  spawn(name: string, command: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.host(name).ns, command, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Run a command inside a host's namespace and return its output. */
  exec(name: string, command: string, args: string[]): string {
    return inNs(this.host(name).ns, command, args);
  }

  /** Kill every process, remove every namespace (veths go with them). Safe to call twice. */
  teardown(): void {
    for (const child of this.children) {
      try {
        child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
    this.children.clear();
    for (const ns of this.created.splice(0).reverse()) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        // Gone already, or never fully made; nothing else to undo.
      }
    }
    process.off('exit', this.onExit);
  }
}
