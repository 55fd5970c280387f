export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full --help text. */
  help: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

export const COMMON_HELP = `Common options:
  -b, --bootstrap HOST:PORT  router(s) to join through; repeat or comma-separate
                             (default: the public Mainline routers; "none" for
                             the first node of a private network)
  -p, --port N               UDP port to bind (0 = any free port)
      --host ADDR            address to bind (default 0.0.0.0)
      --timeout SECONDS      give up after this long (default 30)
      --json                 print one JSON document for scripts
  -h, --help                 this help`;
