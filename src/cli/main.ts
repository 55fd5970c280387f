#!/usr/bin/env node
/** kadmium command line: dispatch to one command, turn errors into messages and exit codes. */
import { UsageError } from './args.js';
import { announce } from './commands/announce.js';
import { daemon } from './commands/daemon.js';
import { disc } from './commands/disc.js';
import { discovery } from './commands/discovery.js';
import { findNode } from './commands/find-node.js';
import { get } from './commands/get.js';
import { getPeers } from './commands/get-peers.js';
import { keygen } from './commands/keygen.js';
import { multi } from './commands/multi.js';
import { overlay } from './commands/overlay.js';
import { ping } from './commands/ping.js';
import { profile } from './commands/profile.js';
import { put } from './commands/put.js';
import { router } from './commands/router.js';
import { sampleInfohashes } from './commands/sample-infohashes.js';
import { scrape } from './commands/scrape.js';
import { sim } from './commands/sim.js';
import { chaos } from './commands/chaos.js';
import { start } from './commands/start.js';
import { testnet } from './commands/testnet.js';
import type { Command } from './commands/types.js';

const COMMANDS: Command[] = [
  start,
  daemon,
  ping,
  findNode,
  getPeers,
  announce,
  keygen,
  put,
  get,
  testnet,
  router,
  profile,
  sim,
  chaos,
  // BEP 33, BEP 51
  scrape,
  sampleInfohashes,
  // the secp256k1 overlay, and discovery on it
  overlay,
  discovery,
  disc,
  // one client for many DHTs
  multi,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `kadmium: a BitTorrent Mainline DHT node (BEP 5)

Usage: kadmium <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "kadmium <command> --help" for a command's options and examples.
Try it offline: "kadmium testnet --nodes 50" in one terminal, then announce and get-peers
with --bootstrap 127.0.0.1:6900 in another.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`kadmium: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = (err as { exitCode?: number }).exitCode ?? 1;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`kadmium: ${message}\n`);
    if (err instanceof UsageError) process.stderr.write('run "kadmium --help" for usage\n');
    process.exitCode = code;
  },
);
