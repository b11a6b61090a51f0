import type { BackendName } from '@smn/backend';

/** What every command receives. Commands parse `argv` (global flags already removed) with `parseFlags` (flags.ts). */
export interface CommandContext {
  argv: string[];
  /** Backend requested with `--backend` or `SMN_BACKEND` (default `auto`); commands that compute call `useBackend`. */
  backend: BackendName;
  /** The `--backend` flag when it was given: it wins over a config's main.backend, which wins over `SMN_BACKEND`. */
  backendFlag?: BackendName;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** True when stderr is a terminal: draw progress bars; otherwise print plain progress lines. */
  interactive: boolean;
}

export interface Command {
  name: string;
  /** One line for `smn --help`. */
  summary: string;
  /** Full `smn <name> --help` text (`renderHelp` of the command's spec). */
  help: string;
  /** Synopsis and flag list printed after a usage error (`renderUsage` of the command's spec). */
  usage: string;
  /** Returns the process exit code (0 ok). Throws SmnError for expected failures. */
  run(ctx: CommandContext): Promise<number>;
}
