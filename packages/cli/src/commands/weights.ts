import { stat } from 'node:fs/promises';
import { fmtShape } from '@smn/core';
import { cacheDir, fetchFile, listEntries, resolveEntry, type EntryListing } from '@smn/hub';
import { readWeights } from '@smn/models';
import type { Command, CommandContext } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError } from '../flags.js';
import { fmtBytes, withFetchProgress } from '../progress.js';

/** Where fetched files go and how to reach them from any network: shared by `smn weights` and `smn data` help. */
export const CACHE_HELP = `Where files go: $SMN_CACHE, default $XDG_CACHE_HOME/smn, else ~/.cache/smn, as <cache>/<name>/<file>;
<cache>/manifest.json records each file's URL and sha256. A download goes to <file>.partial and continues where it
stopped after Ctrl-C, kill -9 or a dropped connection (HTTP Range); it gets its final name only once its checksum
holds (the published one, else the sha256 recorded on the first download, checked on every later use). Processes
fetching the same file at the same time download it once.

Mirrors and proxies: SMN_MIRROR=URL replaces scheme and host of every registry URL, paths kept
(https://download.pytorch.org/models/x.pth → URL/models/x.pth); HF_ENDPOINT=URL serves Hugging Face files (as
huggingface_hub reads it); HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured. SMN_REGISTRY=FILE adds entries of your
own (JSON, the format of @smn/hub's assets/registry.json).

Offline: SMN_OFFLINE=1 (or HF_HUB_OFFLINE=1) never touches the network. A file that is not in the cache is then an
error naming its URL and the exact path to place it at: download it elsewhere, copy it there, and it is used (its
sha256 is recorded on first use).`;

const SPEC = defineSpec({
  name: 'weights',
  usage: ['smn weights list [--json]', 'smn weights fetch NAME', 'smn weights inspect FILE [--json]'],
  description: `Pretrained weights by name (the backbones the reference loads from torch hub, torchvision, timm and Hugging Face),
fetched on first use into a shared cache, and weight files looked at without running any code from them. smn train
fetches what model.pret.source/repo/name name when model.pret.weights is not set; model.pret.weights=FILE uses a file
of your own.

inspect reads .safetensors (F32, F16, BF16, F64, integer types), PyTorch checkpoints (.pth, .pt, .pth.tar; zip format
of PyTorch >= 1.6 and the legacy format, read with a restricted unpickler; a state dict nested under state_dict,
model, teacher, ... and DataParallel's "module." prefixes are handled), or a Hugging Face model folder
(model.safetensors inside).`,
  subcommands: {
    list: 'the registry\'s weights: name, kind, size, whether cached, description',
    fetch: 'download NAME into the cache (resumable, verified) and print its path: the weight file, or the folder of a\nHugging Face repo (CLIP: config, weights, tokenizer)',
    inspect: 'list the tensors of FILE: names, shapes, dtypes and the total number of parameters',
  },
  positionals: [{ name: 'NAME|FILE', description: 'fetch: a registry name (smn weights list); inspect: a weight file or Hugging Face folder' }],
  flags: {
    json: {
      type: 'boolean',
      description: `list: print {"cache", "entries": [{"name", "kind", "size", "cached",
"files": [{"path", "url", "cachePath", "cached", "checksum"}]}]};
inspect: print {"file", "tensors": [{"name", "shape", "dtype"}], "total"}`,
    },
  },
  sections: [
    { title: '', text: CACHE_HELP },
    {
      title: 'Examples',
      text: `  smn weights list
  smn weights fetch swav-resnet50                 # prints ~/.cache/smn/swav-resnet50/swav_800ep_pretrain.pth.tar
  SMN_MIRROR=https://mirror.example.org smn weights fetch timm/resnet18.a1_in1k
  smn weights inspect "$(smn weights fetch torchvision-resnet50)"`,
    },
  ],
});

async function inspect(ctx: CommandContext, file: string, json: boolean): Promise<number> {
  const sd = await readWeights(file);
  const tensors = [...sd].map(([name, t]) => ({ name, shape: t.shape, dtype: t.sourceDtype ?? t.dtype, numel: t.shape.reduce((a, b) => a * b, 1) }));
  const total = tensors.reduce((a, t) => a + t.numel, 0);
  if (json) {
    ctx.out.write(`${JSON.stringify({ file, tensors: tensors.map(({ name, shape, dtype }) => ({ name, shape, dtype })), total })}\n`);
    return 0;
  }
  const w = Math.max(4, ...tensors.map((t) => t.name.length));
  const sw = Math.max(5, ...tensors.map((t) => fmtShape(t.shape).length));
  ctx.out.write(`${'name'.padEnd(w)}  ${'shape'.padEnd(sw)}  dtype\n`);
  for (const t of tensors) ctx.out.write(`${t.name.padEnd(w)}  ${fmtShape(t.shape).padEnd(sw)}  ${t.dtype}\n`);
  ctx.out.write(`${tensors.length} tensors, ${total.toLocaleString('en-US')} parameters in total\n`);
  return 0;
}

/** Bytes of an entry: on disk when cached (the registry gives no size for most weights), else the registry's. */
async function sizeOf(e: EntryListing): Promise<number | undefined> {
  if (!e.cached) return e.size;
  const sizes = await Promise.all(e.files.map((f) => stat(f.cachePath).then((s) => s.size)));
  return sizes.reduce((a, b) => a + b, 0);
}

async function list(ctx: CommandContext, json: boolean): Promise<number> {
  const entries = (await listEntries()).filter((e) => e.kind !== 'dataset');
  const cache = cacheDir();
  if (json) {
    ctx.out.write(`${JSON.stringify({ cache, entries }, null, 2)}\n`);
    return 0;
  }
  const rows = await Promise.all(
    entries.map(async (e) => {
      const size = await sizeOf(e);
      return [e.name, e.kind, size === undefined ? '?' : fmtBytes(size), e.cached ? 'yes' : 'no', e.description];
    }),
  );
  const head = ['name', 'kind', 'size', 'cached', 'description'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  ctx.out.write(`${[head, ...rows].map(line).join('\n')}\n`);
  ctx.out.write(`cache: ${cache} (size ?: not known before the first download); smn weights fetch NAME downloads one\n`);
  return 0;
}

async function fetch(ctx: CommandContext, name: string): Promise<number> {
  const entry = resolveEntry(name);
  if (entry.kind === 'dataset') {
    throw usageError(`'${name}' is a dataset; fetch it into a data root with smn data fetch ${name} --data-root DIR`);
  }
  const path = await withFetchProgress(ctx, (opts) => fetchFile(name, opts));
  if (path === undefined) return 130;
  ctx.out.write(`${path}\n`);
  return 0;
}

const command: Command = {
  name: 'weights',
  summary: 'list, fetch or inspect pretrained weights (registry names, safetensors, .pth)',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const { flags, subcommand, positionals } = parseFlags(SPEC, ctx.argv);
    const arg = positionals[0];
    if (subcommand === 'list') {
      if (arg !== undefined) throw usageError(`smn weights list takes no argument, got '${arg}'`);
      return list(ctx, flags.json);
    }
    if (arg === undefined) throw usageError(`smn weights ${subcommand} needs ${subcommand === 'fetch' ? 'NAME (see smn weights list)' : 'FILE'}`);
    if (subcommand === 'fetch') {
      if (flags.json) throw usageError('--json is for list and inspect; fetch prints the path');
      return fetch(ctx, arg);
    }
    return inspect(ctx, arg, flags.json);
  },
};
export default command;
