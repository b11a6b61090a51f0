import { readFileSync } from 'node:fs';
// From @smn/core, not @smn/backend: loading the backend (tfjs) would slow every command, --help included.
import { BACKEND_NAMES, type BackendName } from '@smn/core';
import type { Command, CommandContext } from './command.js';
import { COMMANDS } from './commands.js';
import { namedError } from './error-boundary.js';
import { usageError } from './flags.js';
import { CliErrorCode } from './errors.js';


export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function rootHelp(): string {
  const entries: [string, string][] = [...Object.entries(COMMANDS).map(([k, v]): [string, string] => [k, v.summary]), ['help', "print this overview, or a command's help (smn help <command>)"]];
  const width = Math.max(...entries.map(([k]) => k.length));
  return [
    'smn: Self-Masking Networks. Adapt pretrained vision models by learning binary masks.',
    '',
    'Usage: smn [--backend NAME] <command> [options]',
    '',
    'Commands:',
    ...entries.map(([k, summary]) => `  ${k.padEnd(width)}  ${summary}`),
    '',
    'Global options:',
    `  --backend NAME   ${BACKEND_NAMES.join(' | ')} (default: auto, or $SMN_BACKEND)`,
    '  --help, -h       show help (also `smn <command> --help`, `smn help <command>`)',
    '  --version, -v    print the version',
    '',
    'Exit codes: 0 ok, 1 runtime error, 2 usage or config error, 130 interrupted.',
  ].join('\n');
}

async function loadCommand(name: string): Promise<Command> {
  const entry = COMMANDS[name];
  if (!entry) {
    const near = Object.keys(COMMANDS).filter((k) => k.startsWith(name.slice(0, 2)));
    throw usageError(`unknown command '${name}'${near.length ? `; did you mean ${near.join(' or ')}?` : ''} (see smn --help)`);
  }
  return (await entry.load()).default;
}

/** `smn help [command]`: the overview, or one command's help. */
async function help(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const topics = args.filter((a) => a !== '--help' && a !== '-h');
  if (topics.length > 1) throw usageError(`smn help takes one command name, got ${topics.join(' ')}`);
  out.write(`${topics.length ? (await loadCommand(topics[0]!)).help.trimEnd() : rootHelp()}\n`);
  return 0;
}

/** Parses global flags, dispatches to a command, maps errors to exit codes. */
export async function main(argv: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Promise<number> {
  const rest: string[] = [];
  let backend = (process.env.SMN_BACKEND ?? 'auto') as BackendName;
  let backendFlag: BackendName | undefined;
  let command: string | undefined;
  let cmd: Command | undefined;
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--backend' || a.startsWith('--backend=')) {
        const v = a.includes('=') ? a.slice('--backend='.length) : argv[++i];
        if (!v || !(BACKEND_NAMES as readonly string[]).includes(v)) {
          throw usageError(`--backend expects one of ${BACKEND_NAMES.join(', ')}, got '${v ?? ''}'`);
        }
        backend = v as BackendName;
        backendFlag = backend;
      } else if (command === undefined && (a === '--version' || a === '-v')) {
        io.out.write(`${version()}\n`);
        return 0;
      } else if (command === undefined && !a.startsWith('-')) {
        command = a;
      } else {
        rest.push(a);
      }
    }
    if (command === undefined) {
      io.out.write(`${rootHelp()}\n`);
      return rest.includes('--help') || rest.includes('-h') ? 0 : 2;
    }
    if (command === 'help') return await help(rest, io.out);
    cmd = await loadCommand(command);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out.write(`${cmd.help.trimEnd()}\n`);
      return 0;
    }
    const ctx: CommandContext = {
      argv: rest,
      backend,
      ...(backendFlag ? { backendFlag } : {}),
      out: io.out,
      err: io.err,
      interactive: Boolean((io.err as { isTTY?: boolean }).isTTY),
    };
    return await cmd.run(ctx);
  } catch (err) {
    // File-system and parse errors that escaped a command are named too (error-boundary.ts); the rest are bugs.
    const named = namedError(err);
    if (named) {
      io.err.write(`smn: error [${named.code}]: ${named.message}\n`);
      // Argument mistakes show what the command accepts; config and runtime errors stand alone.
      if (named.code === CliErrorCode.Usage && cmd) io.err.write(`\n${cmd.usage.trimEnd()}\n`);
      // SMN_DEBUG=1 shows where a mapped error came from, for a report when the mapping hides a bug.
      if (process.env.SMN_DEBUG && named !== err) io.err.write(`${(err as Error)?.stack ?? String(err)}\n`);
      return named.kind === 'usage' ? 2 : 1;
    }
    io.err.write(`smn: unexpected error (please report it):\n${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
