import { EMBEDDED_BACKBONE, pretrainEmbedded } from '@smn/train';
import type { Command } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage } from '../flags.js';
import { interruptController, progressEvents } from '../progress.js';
import { startBackend, WORKERS_FLAG } from '../shared.js';

const SPEC = defineSpec({
  name: 'pretrain',
  usage: ['smn pretrain [--out FILE] [--epochs N] [--width N] [--seed N] [--data-root DIR] [--workers N]'],
  description: `Rebuilds the small pretrained backbone shipped with smn (assets/embedded-backbone.safetensors of @smn/train):
a torchvision-layout ResNet-18 (width 16, ImageNet stem, 28x28 inputs) trained with labels on the Fashion-MNIST
train images with index < 50,000 of classes 0-4 (T-shirt/top, Trouser, Pullover, Dress, Coat). The embedded
dataset (train indices 50,000-59,999, all ten classes) is therefore new to it: adapting it is a real transfer.
Needs Fashion-MNIST (Debian: apt-get install dataset-fashion-mnist, or data/fashion_mnist/).
Writes FILE (safetensors, PyTorch names and layouts, without the fc head) and FILE with .json (what it is,
accuracy on the test images of classes 0-4).`,
  flags: {
    out: { type: 'string', value: 'FILE', description: 'the backbone file to write', defaultText: 'the shipped asset' },
    epochs: { type: 'number', value: 'N', integer: true, min: 0, default: 4, description: 'training epochs' },
    width: { type: 'number', value: 'N', integer: true, min: 1, default: 16, description: 'base channels' },
    seed: { type: 'number', value: 'N', integer: true, min: 0, default: 0, description: 'seed of the initialisation and the data order' },
    'data-root': { type: 'string', value: 'DIR', description: 'where fashion_mnist/ lives', defaultText: "data, then Debian's folder" },
    workers: WORKERS_FLAG,
  },
});

const command: Command = {
  name: 'pretrain',
  summary: 'pretrain the small embedded backbone (reproducible)',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const v = parseFlags(SPEC, ctx.argv).flags;
    await startBackend(ctx, 'smn');
    const intr = interruptController(ctx);
    const events = progressEvents(ctx, '[pretrain]');
    try {
      const r = await pretrainEmbedded({
        out: v.out ?? EMBEDDED_BACKBONE,
        epochs: v.epochs,
        width: v.width,
        seed: v.seed,
        workers: v.workers,
        ...(v['data-root'] ? { dataRoot: v['data-root'] } : {}),
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
