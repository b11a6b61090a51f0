import { SmnError } from '@smn/core';
import {
  configToYaml,
  ignoredReason,
  listConfigNames,
  parseHydraArgs,
  resolveRuns,
  type ResolvedConfig,
} from '@smn/train/config';
import type { Command, CommandContext } from '../command.js';

const HELP = `Usage: smn config show --config-name NAME [--config-dir DIR] [--multirun] [--json] [OVERRIDES...]
       smn config list [--config-dir DIR]

Prints the config a run would use: NAME's YAML file merged over its parents, then the overrides in Hydra's
grammar. Keys of the reference that mean nothing in smn (Neptune, data-loader workers, ...) are accepted and
listed as ignored. Unknown keys and bad values are all reported at once, with the nearest valid keys (exit 2).

Subcommands:
  show                 print the resolved config (YAML; JSON with --json)
  list                 list the config names

Options:
  --config-name NAME   default, baseline, submask, submask_lin, submask_clip, submask_clip_p, baseline_clip
                       (also --config-name=NAME, -cn NAME)
  --config-dir DIR     also look for NAME.yaml in DIR (before the shipped configs)
  --multirun, -m       expand comma sweeps (dl.lr=0.1,0.15) and print one config per combination
  --json               print JSON: {"config", "overrides", "ignored", "warnings"} (a list with --multirun)

Overrides:
  a.b=v  set      +a.b=v  add a new key      ++a.b=v  add or set      ~a.b  delete
  values: null, true/false, numbers, strings, 'quoted strings', [lists], a,b sweeps (with --multirun)

Examples:
  smn config show --config-name submask main.dataset=cifar100 model.pret.name=resnet50
  smn config show --config-name=baseline main.train=0 main.probe=1 main.dataset_subset=10p --json
  smn config show --config-name baseline --multirun dl.lr=0.1,0.15 main.dataset_subset=10p,4p

Reference: docs/config.md (every key, its type, default and meaning).`;

function usage(message: string): SmnError {
  return new SmnError('SMN_USAGE', `${message} (see smn config --help)`, { kind: 'usage' });
}

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
  help: HELP,
  async run(ctx) {
    const [sub, ...rest] = ctx.argv;
    if (sub !== 'show' && sub !== 'list') {
      throw usage(sub === undefined ? "expected a subcommand: 'show' or 'list'" : `unknown subcommand '${sub}'; expected 'show' or 'list'`);
    }
    const args = parseHydraArgs(rest);
    let json = false;
    for (const a of args.rest) {
      if (a === '--json') json = true;
      else throw usage(`unknown option or argument '${a}'${a.includes('=') ? '' : '; overrides look like key=value'}`);
    }
    if (sub === 'list') {
      const names = listConfigNames(args.configDirs);
      ctx.out.write(json ? `${JSON.stringify(names)}\n` : `${names.join('\n')}\n`);
      return 0;
    }
    if (!args.configName) throw usage('--config-name NAME is required (e.g. --config-name submask)');
    // Every run is resolved first, so that a bad override fails before anything is printed.
    const resolved = resolveRuns({ configName: args.configName, overrides: args.overrides, configDirs: args.configDirs, multirun: args.multirun });
    if (json) {
      const plain = resolved.map((r) => ({ config: r.config, overrides: r.overrides, ignored: r.ignored, warnings: r.warnings }));
      ctx.out.write(`${JSON.stringify(args.multirun ? plain : plain[0], null, 2)}\n`);
      return 0;
    }
    resolved.forEach((r, i) => {
      if (args.multirun) {
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
