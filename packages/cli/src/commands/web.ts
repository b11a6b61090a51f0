import { resolve } from 'node:path';
import { docsUrl } from '@smn/core';
import { exportWeb } from '@smn/train';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError } from '../flags.js';
import { fmtBytes, interruptible } from '../progress.js';
import { startBackend } from '../shared.js';
import { copyWebPage } from '../web-page.js';
import { startWebServer } from '../web-server.js';

const SPEC = defineSpec({
  name: 'web',
  usage: ['smn web export RUN... --out DIR [--fp16] [--gallery N]', 'smn web serve DIR [--port N]'],
  description: `One backbone, many 1-bit task masks, in a browser (${docsUrl('web.md')}).

export  writes DIR: the runs' shared base backbone once (base.safetensors), per run its .smnmask, its head (the
        masked head's effective weights, or the probe's) with the BatchNorm statistics it was evaluated with,
        a gallery of test images, manifest.json (method, accuracy, bytes, kept fraction per layer) and the page.
        Runs trained on different base weights are refused (exit 2); so are fine-tuned runs.
serve   serves DIR on http://127.0.0.1:PORT/ until Ctrl-C (any static server works too).`,
  subcommands: { export: 'write a web folder from run folders', serve: 'serve a web folder on 127.0.0.1' },
  positionals: [{ name: 'RUN... | DIR', description: 'export: run folders (one task each); serve: the web folder' }],
  flags: {
    out: { type: 'string', value: 'DIR', description: 'export: the web folder to write' },
    fp16: { type: 'boolean', description: 'export: store the base as float16 (half the bytes; the manifest says so)' },
    gallery: { type: 'number', value: 'N', integer: true, min: 0, default: 1000, description: "export: test images in the page's gallery (first N of the runs' test split)" },
    port: { type: 'number', value: 'N', integer: true, min: 0, default: 8080, description: 'serve: port on 127.0.0.1 (0: any free port)' },
  },
  sections: [{ title: 'Example', text: 'smn web export runs/quickstart-*/submask-100% runs/quickstart-*/smn-ssl --out web && smn web serve web' }],
});

/** Flags that take a value: their value is not a positional. */
const VALUED = new Set(['--out', '--gallery', '--port']);

/** Splits argv into what parseFlags reads (the subcommand and the flags) and the positionals after the subcommand (any number of runs). */
function splitArgs(argv: string[]): { flagArgv: string[]; positionals: string[] } {
  const flagArgv: string[] = [];
  const positionals: string[] = [];
  let sub = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-')) {
      flagArgv.push(a);
      if (VALUED.has(a) && i + 1 < argv.length) flagArgv.push(argv[++i]!);
    } else if (!sub) {
      flagArgv.push(a);
      sub = true;
    } else positionals.push(a);
  }
  return { flagArgv, positionals };
}

async function runExport(ctx: CommandContext, runs: string[], flags: { out?: string; fp16: boolean; gallery: number }): Promise<number> {
  if (runs.length === 0) throw usageError('smn web export needs at least one RUN folder');
  if (!flags.out) throw usageError('smn web export needs --out DIR');
  await startBackend(ctx, 'smn web export');
  const log = (l: string) => ctx.err.write(`smn web export: ${l}\n`);
  const { manifest, files } = await exportWeb({ runs, out: flags.out, fp16: flags.fp16, gallery: flags.gallery, onLog: log });
  const pageBytes = await copyWebPage(flags.out, log);
  const b = manifest.base;
  ctx.out.write(`wrote ${resolve(flags.out)}\n`);
  ctx.out.write(`  base      ${b.file}  ${b.bytes.toLocaleString('en-US')} bytes (${b.dtype}; a fine-tuned float32 copy costs ${b.fineTunedBytes.toLocaleString('en-US')} bytes per task)\n`);
  for (const t of manifest.tasks) {
    const mask = t.masks ? `mask ${t.masks.bytes.toLocaleString('en-US')} B (${(100 * t.masks.kept).toFixed(1)}% kept)` : 'no mask';
    ctx.out.write(`  task      ${t.id}: ${t.method}, ${t.classes.length} classes, ${(100 * t.accuracy).toFixed(1)}%; ${mask}, head ${t.head.bytes.toLocaleString('en-US')} B\n`);
  }
  if (manifest.gallery) ctx.out.write(`  gallery   ${manifest.gallery.count} test images of ${manifest.gallery.dataset}, ${files.find((f) => f.file === manifest.gallery!.file)!.bytes.toLocaleString('en-US')} bytes\n`);
  ctx.out.write(`  page      ${fmtBytes(pageBytes)}\n`);
  ctx.out.write(`serve it: smn web serve ${flags.out}\n`);
  return 0;
}

async function runServe(ctx: CommandContext, dir: string | undefined, port: number): Promise<number> {
  if (!dir) throw usageError('smn web serve needs the DIR smn web export wrote');
  return interruptible(ctx, async (intr) => {
    const server = await startWebServer({ dir, port });
    ctx.out.write(`serving ${resolve(dir)} at ${server.url} (Ctrl-C stops)\n`);
    await new Promise<void>((r) => (intr.signal.aborted ? r() : intr.signal.addEventListener('abort', () => r(), { once: true })));
    await server.close();
    ctx.err.write('smn web serve: stopped\n');
    return 130;
  });
}

const command: Command = {
  name: 'web',
  summary: 'export runs sharing one backbone to a web page that switches task masks, and serve it',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const { flagArgv, positionals } = splitArgs(ctx.argv);
    const { flags, subcommand, positionals: first } = parseFlags(SPEC, flagArgv);
    const args = [...first, ...positionals];
    if (subcommand === 'serve') {
      if (args.length > 1) throw usageError(`smn web serve takes one DIR, found ${args.length}`);
      return runServe(ctx, args[0], flags.port);
    }
    return runExport(ctx, args, flags);
  },
};
export default command;
