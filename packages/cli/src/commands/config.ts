import { docsUrl } from '@smn/core';
import { configToYaml, ignoredReason, listConfigNames, resolveRuns, type ResolvedConfig } from '@smn/train/config';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError } from '../flags.js';
import { HYDRA_FLAGS, MAX_RUNS_FLAG } from '../shared.js';

const SPEC = defineSpec({
  name: 'config',
  usage: [
    'smn config show --config-name NAME [--config-dir DIR] [--multirun [--max-runs N]] [--json] [OVERRIDES...]',
    'smn config list [--config-dir DIR]',
  ],
  description: `Prints the config a run would use: NAME's YAML file merged over its parents, then the overrides in Hydra's
grammar. Keys of the reference that mean nothing in smn (Neptune, data-loader workers, ...) are accepted and
listed as ignored. Unknown keys and bad values are all reported at once, with the nearest valid keys (exit 2).`,
  subcommands: {
    show: 'print the resolved config (YAML; JSON with --json)',
    list: 'list the config names',
  },
  overrides: true,
  flags: {
    'config-name': { ...HYDRA_FLAGS['config-name'], description: 'default, baseline, submask, submask_lin, submask_clip, submask_clip_p, baseline_clip' },
    'config-dir': { ...HYDRA_FLAGS['config-dir'], description: 'also look for NAME.yaml in DIR (before the shipped configs)' },
    multirun: { ...HYDRA_FLAGS.multirun, description: 'expand comma sweeps (dl.lr=0.1,0.15) and print one config per combination' },
    'max-runs': MAX_RUNS_FLAG,
    json: { type: 'boolean', description: 'print JSON: {"config", "overrides", "ignored", "warnings"} (a list with --multirun)' },
  },
  sections: [
    {
      title: 'Overrides',
      text: `  a.b=v  set      +a.b=v  add a new key      ++a.b=v  add or set      ~a.b  delete
  values: null, true/false, numbers, strings, 'quoted strings', [lists], a,b sweeps (with --multirun)`,
    },
    {
      title: 'Examples',
      text: `  smn config show --config-name submask main.dataset=cifar100 model.pret.name=resnet50
  smn config show --config-name=baseline main.train=0 main.probe=1 main.dataset_subset=10p --json
  smn config show --config-name baseline --multirun dl.lr=0.1,0.15 main.dataset_subset=10p,4p`,
    },
    { title: '', text: `Reference: ${docsUrl('config.md')} (every key, its type, default and meaning).` },
  ],
});

function printText(ctx: CommandContext, r: ResolvedConfig, header?: string): void {
  if (header) ctx.out.write(`# ${header}\n`);
  ctx.out.write(configToYaml(r.config));
  for (const w of r.warnings) ctx.err.write(`smn: warning: ${w}\n`);
  if (r.ignored.length) {
    ctx.out.write('# ignored (keys of the reference that smn does not use):\n');
    for (const k of r.ignored) ctx.out.write(`#   ${k}: ${ignoredReason(k) ?? ''}\n`);
  }
}

const command: Command = {
  name: 'config',
  summary: 'show the resolved config of a --config-name with overrides',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const { flags, subcommand, overrides } = parseFlags(SPEC, ctx.argv);
    const { json, multirun } = flags;
    if (subcommand === 'list') {
      const names = listConfigNames(flags['config-dir']);
      ctx.out.write(json ? `${JSON.stringify(names)}\n` : `${names.join('\n')}\n`);
      return 0;
    }
    const configName = flags['config-name'];
    if (!configName) throw usageError('--config-name NAME is required (e.g. --config-name submask)');
    // Every run is resolved first, so that a bad override fails before anything is printed.
    const maxRuns = flags['max-runs'];
    const resolved = resolveRuns({ configName, overrides, configDirs: flags['config-dir'], multirun, ...(maxRuns !== undefined ? { maxRuns } : {}) });
    if (json) {
      const plain = resolved.map((r) => ({ config: r.config, overrides: r.overrides, ignored: r.ignored, warnings: r.warnings }));
      ctx.out.write(`${JSON.stringify(multirun ? plain : plain[0], null, 2)}\n`);
      return 0;
    }
    resolved.forEach((r, i) => {
      if (multirun) {
        if (i > 0) ctx.out.write('---\n');
        printText(ctx, r, `run ${i + 1}/${resolved.length}: ${r.overrides.join(' ') || '(no overrides)'}`);
      } else {
        printText(ctx, r);
      }
    });
    return 0;
  },
};
export default command;
