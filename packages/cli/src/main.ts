import { readFileSync } from 'node:fs';
import { isSmnError, SmnError } from '@smn/core';
import type { BackendName } from '@smn/backend';
import type { CommandContext } from './command.js';
import { COMMANDS } from './commands.js';

const BACKENDS: BackendName[] = ['auto', 'torch', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function rootHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(width)}  ${v.summary}`);
  return [
    'smn: Self-Masking Networks. Adapt pretrained vision models by learning binary masks.',
    '',
    'Usage: smn [--backend NAME] <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Global options:',
    `  --backend NAME   ${BACKENDS.join(' | ')} (default: auto, or $SMN_BACKEND)`,
    '  --help, -h       show help (also `smn <command> --help`)',
    '  --version, -v    print the version',
    '',
    'Exit codes: 0 ok, 1 runtime error, 2 usage or config error, 130 interrupted.',
  ].join('\n');
}

/** Parses global flags, dispatches to a command, maps errors to exit codes. */
export async function main(argv: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Promise<number> {
  const rest: string[] = [];
  let backend = (process.env.SMN_BACKEND ?? 'auto') as BackendName;
  let command: string | undefined;
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--backend' || a.startsWith('--backend=')) {
        const v = a.includes('=') ? a.slice('--backend='.length) : argv[++i];
        if (!v || !BACKENDS.includes(v as BackendName)) {
          throw new SmnError('SMN_USAGE', `--backend expects one of ${BACKENDS.join(', ')}, got '${v ?? ''}'`, { kind: 'usage' });
        }
        backend = v as BackendName;
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
    const entry = COMMANDS[command];
    if (!entry) {
      const near = Object.keys(COMMANDS).filter((k) => k.startsWith(command!.slice(0, 2)));
      throw new SmnError(
        'SMN_USAGE',
        `unknown command '${command}'${near.length ? `; did you mean ${near.join(' or ')}?` : ''} (see smn --help)`,
        { kind: 'usage' },
      );
    }
    const cmd = (await entry.load()).default;
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out.write(`${cmd.help.trimEnd()}\n`);
      return 0;
    }
    const ctx: CommandContext = {
      argv: rest,
      backend,
      out: io.out,
      err: io.err,
      interactive: Boolean((io.err as { isTTY?: boolean }).isTTY),
    };
    return await cmd.run(ctx);
  } catch (err) {
    if (isSmnError(err)) {
      io.err.write(`smn: error [${err.code}]: ${err.message}\n`);
      return err.kind === 'usage' ? 2 : 1;
    }
    io.err.write(`smn: unexpected error (please report it):\n${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
