import { EMBEDDED_BACKBONE, EMBEDDED_SWAV_BACKBONE, pretrainEmbedded, SWAV_PRETRAIN_DEFAULTS } from '@smn/train';
import type { Command } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage } from '../flags.js';
import { interruptController, progressEvents } from '../progress.js';
import { startBackend, WORKERS_FLAG } from '../shared.js';

const SPEC = defineSpec({
  name: 'pretrain',
  usage: ['smn pretrain [--method supervised|swav] [--out FILE] [--epochs N] [--width N] [--seed N] [--lr X] [--batch-size N] [--prototypes N] [--queue N] [--small-crops N] [--data-root DIR] [--workers N]'],
  description: `Rebuilds the small pretrained backbones shipped with smn (assets/ of @smn/train): a torchvision-layout
ResNet-18 (width 16, ImageNet stem, 28x28 inputs) trained on the Fashion-MNIST train images with index < 50,000 of
classes 0-4 (T-shirt/top, Trouser, Pullover, Dress, Coat). The embedded dataset (train indices 50,000-59,999, all ten
classes) is therefore new to it: adapting it is a real transfer.
  --method supervised   with labels (the default; assets/embedded-backbone.safetensors, model.pret.name=embedded)
  --method swav         without labels, SwAV with 2x28 + N x14 px crops (assets/embedded-swav-backbone.safetensors,
                        model.pret.name=embedded_swav); reports kNN accuracy instead of the classifier's
Needs Fashion-MNIST (Debian: apt-get install dataset-fashion-mnist, or data/fashion_mnist/).
Writes FILE (safetensors, PyTorch names and layouts, without the fc head) and FILE with .json (what it is,
accuracy on the test images of classes 0-4).`,
  flags: {
    method: { type: 'string', value: 'NAME', choices: ['supervised', 'swav'], default: 'supervised', description: 'with labels (supervised) or without (swav)' },
    out: { type: 'string', value: 'FILE', description: 'the backbone file to write', defaultText: "the shipped asset of the method" },
    epochs: { type: 'number', value: 'N', integer: true, min: 0, default: 4, description: 'training epochs' },
    width: { type: 'number', value: 'N', integer: true, min: 1, default: 16, description: 'base channels' },
    seed: { type: 'number', value: 'N', integer: true, min: 0, default: 0, description: 'seed of the initialisation and the data order' },
    lr: { type: 'number', value: 'X', min: 0, description: 'learning rate (cosine schedule)', defaultText: '0.1 supervised, 0.3 swav' },
    'batch-size': { type: 'number', value: 'N', integer: true, min: 1, description: 'images per batch', defaultText: '128 supervised, 256 swav' },
    prototypes: { type: 'number', value: 'N', integer: true, min: 1, default: SWAV_PRETRAIN_DEFAULTS.nmbPrototypes, description: 'swav: number of prototypes' },
    queue: { type: 'number', value: 'N', integer: true, min: 0, default: SWAV_PRETRAIN_DEFAULTS.queueLength, description: 'swav: queue length per assignment crop, from the second epoch (0: none)' },
    'small-crops': { type: 'number', value: 'N', integer: true, min: 0, default: SWAV_PRETRAIN_DEFAULTS.crops[1]!.count, description: 'swav: 14 px crops (scale 0.1-0.3) beside the two 28 px ones (scale 0.2-1)' },
    'data-root': { type: 'string', value: 'DIR', description: 'where fashion_mnist/ lives', defaultText: "data, then Debian's folder" },
    workers: WORKERS_FLAG,
  },
});

const command: Command = {
  name: 'pretrain',
  summary: 'pretrain the small embedded backbones (reproducible)',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const v = parseFlags(SPEC, ctx.argv).flags;
    const swav = v.method === 'swav';
    await startBackend(ctx, 'smn');
    const intr = interruptController(ctx);
    const events = progressEvents(ctx, '[pretrain]');
    try {
      const [global, small] = SWAV_PRETRAIN_DEFAULTS.crops;
      const r = await pretrainEmbedded({
        out: v.out ?? (swav ? EMBEDDED_SWAV_BACKBONE : EMBEDDED_BACKBONE),
        method: swav ? 'swav' : 'supervised',
        epochs: v.epochs,
        width: v.width,
        seed: v.seed,
        workers: v.workers,
        ...(v.lr !== undefined ? { lr: v.lr } : {}),
        ...(v['batch-size'] !== undefined ? { batchSize: v['batch-size'] } : {}),
        ...(swav ? { swav: { nmbPrototypes: v.prototypes, queueLength: v.queue, crops: v['small-crops'] > 0 ? [global!, { ...small!, count: v['small-crops'] }] : [global!] } } : {}),
        ...(v['data-root'] ? { dataRoot: v['data-root'] } : {}),
        signal: intr.signal,
        events,
      });
      events.done();
      const metric = swav ? 'kNN accuracy' : 'test accuracy';
      ctx.out.write(`${r.out}: ${r.params} parameters, trained on ${r.trainImages} images in ${r.seconds.toFixed(0)} s; ${metric} ${(100 * r.testAccuracy).toFixed(2)}% on ${r.testImages} images\n`);
      return 0;
    } finally {
      intr.dispose();
    }
  },
};
export default command;
