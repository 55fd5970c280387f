/**
 * Driving the test bed: an Agent is a kadmium node in a namespace (agent.ts) that answers JSON
 * commands; `startCoturn` runs the real STUN/TURN server on a public host. Every call is bounded.
 */
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Testbed } from './testbed.js';

const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'agent.js');
const HYPER_AGENT = join(dirname(fileURLToPath(import.meta.url)), 'hyper-agent.js');
/** A command that has not answered within this has hung. */
export const CALL_TIMEOUT_MS = 10_000;
/**
 * An agent's first command also waits for its process to load: with two beds starting twenty-odd
 * agents at once on a loaded 2-core machine, that alone took over 10 s.
 */
export const AGENT_START_MS = 30_000;
/** coturn listens within a few hundred ms; past this it failed to start. */
const COTURN_START_MS = 5_000;
export const TURN_USER = 'kadmium';
export const TURN_PASSWORD = 'testbed-only';
export const TURN_REALM = 'kadmium.test';

export class Agent {
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    (answer: { ok: boolean; result?: unknown; error?: string }) => void
  >();
  readonly stderr: string[] = [];

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const answer = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: string };
        this.waiting.get(answer.id)?.(answer);
        this.waiting.delete(answer.id);
      } catch {
        this.stderr.push(`stdout: ${line}`);
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (this.stderr.length < 50) this.stderr.push(d.toString());
    });
  }

  static spawn(bed: Testbed, host: string): Agent {
    return new Agent(host, bed.spawn(host, process.execPath, [AGENT]));
  }

  /** A hyperdht node instead (hyper-agent.ts), for the comparison column. */
  static spawnHyper(bed: Testbed, host: string): Agent {
    return new Agent(`${host} (hyperdht)`, bed.spawn(host, process.execPath, [HYPER_AGENT]));
  }

  /** Run one command; rejects with the agent's error, or after timeoutMs. */
  call<T = Record<string, unknown>>(
    op: string,
    args: Record<string, unknown> = {},
    timeoutMs = CALL_TIMEOUT_MS,
  ): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new Error(
            `${this.name}: ${op} did not answer within ${timeoutMs} ms; stderr: ${this.stderr.join('')}`,
          ),
        );
      }, timeoutMs);
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        if (answer.ok) resolve(answer.result as T);
        else reject(new Error(`${this.name}: ${op}: ${answer.error}`));
      });
      this.child.stdin!.write(JSON.stringify({ id, op, ...args }) + '\n');
    });
  }

  close(): void {
    this.child.stdin?.end();
  }
}

/**
 * coturn on `host` with both of its IPv4 addresses (RFC 5780 needs two) and long-term
 * credentials for TURN. Resolves once it listens.
 */
export async function startCoturn(bed: Testbed, host: string, ips: string[]): Promise<ChildProcess> {
  const args = [
    '-n',
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '--log-file=stdout',
    '--simple-log',
    '--listening-port=3478',
    ...ips.map((ip) => `--listening-ip=${ip}`),
    `--relay-ip=${ips[0]}`,
    '--lt-cred-mech',
    `--user=${TURN_USER}:${TURN_PASSWORD}`,
    `--realm=${TURN_REALM}`,
    '--allow-loopback-peers',
    '--no-multicast-peers',
    '--min-port=49152',
    '--max-port=49652',
    '--pidfile=/dev/null',
    '--no-software-attribute',
    '--verbose',
  ];
  const child = bed.spawn(host, 'turnserver', args);
  const out: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`coturn did not start within ${COTURN_START_MS} ms:\n${out.join('')}`)),
      COTURN_START_MS,
    );
    const onData = (d: Buffer) => {
      out.push(d.toString());
      const all = out.join('');
      if (/Total (UDP|General) servers|IPv4. UDP listener opened on/.test(all)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`coturn exited with ${code}:\n${out.join('')}`));
    });
  });
  child.stdout!.resume();
  return child;
}
