import { parseArgs } from 'node:util';
import { SmnError } from '@smn/core';
import { useBackend } from '@smn/backend';
import { EMBEDDED_BACKBONE, pretrainEmbedded } from '@smn/train';
import type { Command } from '../command.js';
import { interruptController, progressEvents } from '../progress.js';

const HELP = `Usage: smn pretrain [--out FILE] [--epochs N] [--width N] [--seed N] [--data-root DIR] [--workers N]

Rebuilds the small pretrained backbone shipped with smn (packages/train/assets/embedded-backbone.safetensors):
a torchvision-layout ResNet-18 (width 16, ImageNet stem, 28x28 inputs) trained with labels on the Fashion-MNIST
train images with index < 50,000 of classes 0-4 (T-shirt/top, Trouser, Pullover, Dress, Coat). The embedded
dataset (train indices 50,000-59,999, all ten classes) is therefore new to it: adapting it is a real transfer.
Needs Fashion-MNIST (Debian: apt-get install dataset-fashion-mnist, or data/fashion_mnist/).
Writes FILE (safetensors, PyTorch names and layouts, without the fc head) and FILE with .json (what it is,
accuracy on the test images of classes 0-4).

Options:
  --out FILE      default: the shipped asset
  --epochs N      default 4
  --width N       base channels, default 16
  --seed N        default 0
  --data-root DIR where fashion_mnist/ lives (default: data, then Debian's folder)
  --workers N     data-loading threads, default 1`;

const command: Command = {
  name: 'pretrain',
  summary: 'pretrain the small embedded backbone (reproducible)',
  help: HELP,
  async run(ctx) {
    const { values } = parseArgs({
      args: ctx.argv,
      options: { out: { type: 'string' }, epochs: { type: 'string' }, width: { type: 'string' }, seed: { type: 'string' }, 'data-root': { type: 'string' }, workers: { type: 'string' } },
      strict: true,
    });
    const int = (v: string | undefined, d: number, flag: string) => {
      if (v === undefined) return d;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new SmnError('SMN_USAGE', `${flag} expects a non-negative integer, got ${v}`, { kind: 'usage' });
      return n;
    };
    const choice = await useBackend(ctx.backend);
    ctx.err.write(`smn: backend ${choice.name}\n`);
    const intr = interruptController(ctx);
    const events = progressEvents(ctx, '[pretrain]');
    try {
      const r = await pretrainEmbedded({
        out: values.out ?? EMBEDDED_BACKBONE,
        epochs: int(values.epochs, 4, '--epochs'),
        width: int(values.width, 16, '--width'),
        seed: int(values.seed, 0, '--seed'),
        workers: int(values.workers, 1, '--workers'),
        ...(values['data-root'] ? { dataRoot: values['data-root'] } : {}),
        signal: intr.signal,
        events,
      });
      events.done();
      ctx.out.write(`${r.out}: ${r.params} parameters, trained on ${r.trainImages} images in ${r.seconds.toFixed(0)} s; test accuracy ${(100 * r.testAccuracy).toFixed(2)}% on ${r.testImages} images\n`);
      return 0;
    } finally {
      intr.dispose();
    }
  },
};
export default command;
