import { fmtShape } from '@smn/core';
import { readWeights } from '@smn/models';
import type { Command } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage } from '../flags.js';

const SPEC = defineSpec({
  name: 'weights',
  usage: ['smn weights inspect FILE [--json]'],
  description: `Lists the tensors of a weight file without running any code from it: names, shapes, dtypes and the total number
of parameters.

Files: .safetensors (F32, F16, BF16, F64, integer types), PyTorch checkpoints (.pth, .pt, .pth.tar; zip format of
PyTorch >= 1.6 and the legacy format, read with a restricted unpickler; a state dict nested under state_dict,
model, teacher, ... and DataParallel's "module." prefixes are handled), or a Hugging Face model folder
(model.safetensors inside).`,
  subcommands: { inspect: 'list the tensors of FILE' },
  positionals: [{ name: 'FILE', description: 'the weight file or Hugging Face folder', required: true }],
  flags: {
    json: { type: 'boolean', description: 'print {"file", "tensors": [{"name", "shape", "dtype"}], "total"} instead of a table' },
  },
  sections: [{ title: 'Example', text: '  smn weights inspect ~/.cache/torch/hub/checkpoints/resnet50-0676ba61.pth' }],
});

const command: Command = {
  name: 'weights',
  summary: 'inspect a weight file (safetensors, .pth)',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const { flags, positionals } = parseFlags(SPEC, ctx.argv);
    const file = positionals[0]!;
    const sd = await readWeights(file);
    const tensors = [...sd].map(([name, t]) => ({
      name,
      shape: t.shape,
      dtype: t.sourceDtype ?? t.dtype,
      numel: t.shape.reduce((a, b) => a * b, 1),
    }));
    const total = tensors.reduce((a, t) => a + t.numel, 0);
    if (flags.json) {
      ctx.out.write(`${JSON.stringify({ file, tensors: tensors.map(({ name, shape, dtype }) => ({ name, shape, dtype })), total })}\n`);
      return 0;
    }
    const w = Math.max(4, ...tensors.map((t) => t.name.length));
    const sw = Math.max(5, ...tensors.map((t) => fmtShape(t.shape).length));
    ctx.out.write(`${'name'.padEnd(w)}  ${'shape'.padEnd(sw)}  dtype\n`);
    for (const t of tensors) ctx.out.write(`${t.name.padEnd(w)}  ${fmtShape(t.shape).padEnd(sw)}  ${t.dtype}\n`);
    ctx.out.write(`${tensors.length} tensors, ${total.toLocaleString('en-US')} parameters in total\n`);
    return 0;
  },
};
export default command;
