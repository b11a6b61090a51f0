import { parseArgs } from 'node:util';
import { SmnError, fmtShape } from '@smn/core';
import { readWeights } from '@smn/models';
import type { Command } from '../command.js';

const HELP = `Usage: smn weights inspect FILE [--json]

Lists the tensors of a weight file without running any code from it: names, shapes, dtypes and the total number
of parameters.

Files: .safetensors (F32, F16, BF16, F64, integer types), PyTorch checkpoints (.pth, .pt, .pth.tar; zip format of
PyTorch >= 1.6 and the legacy format, read with a restricted unpickler; a state dict nested under state_dict,
model, teacher, ... and DataParallel's "module." prefixes are handled), or a Hugging Face model folder
(model.safetensors inside).

Options:
  --json   print {"file", "tensors": [{"name", "shape", "dtype"}], "total"} instead of a table

Example:
  smn weights inspect ~/.cache/torch/hub/checkpoints/resnet50-0676ba61.pth`;

const command: Command = {
  name: 'weights',
  summary: 'inspect a weight file (safetensors, .pth)',
  help: HELP,
  async run(ctx) {
    let parsed;
    try {
      parsed = parseArgs({ args: ctx.argv, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    } catch (err) {
      throw new SmnError('SMN_USAGE', `${(err as Error).message} (see smn weights --help)`, { kind: 'usage' });
    }
    const [sub, file, ...rest] = parsed.positionals;
    if (sub !== 'inspect') {
      throw new SmnError('SMN_USAGE', `expected 'smn weights inspect FILE', got '${sub ?? ''}' (see smn weights --help)`, { kind: 'usage' });
    }
    if (!file || rest.length) {
      throw new SmnError('SMN_USAGE', 'smn weights inspect takes exactly one FILE (see smn weights --help)', { kind: 'usage' });
    }
    const sd = await readWeights(file);
    const tensors = [...sd].map(([name, t]) => ({
      name,
      shape: t.shape,
      dtype: t.sourceDtype ?? t.dtype,
      numel: t.shape.reduce((a, b) => a * b, 1),
    }));
    const total = tensors.reduce((a, t) => a + t.numel, 0);
    if (parsed.values.json) {
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
