import type { Command } from './command.js';

/**
 * Every command, loaded lazily so `smn --help` stays fast and a command's heavy imports load only when it runs.
 * One file per command under ./commands/.
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  quickstart: {
    summary: 'run the main job on the embedded data and backbone: masking vs fine-tuning vs probe',
    load: () => import('./commands/quickstart.js'),
  },
  train: { summary: 'train a run from a config (submask, baseline, submask_lin, ...)', load: () => import('./commands/train.js') },
  config: { summary: 'show the resolved config of a --config-name with overrides', load: () => import('./commands/config.js') },
  data: { summary: 'fetch a dataset into a data root, inspect one or preview its augmentations', load: () => import('./commands/data.js') },
  weights: { summary: 'list, fetch or inspect pretrained weights (registry names, safetensors, .pth)', load: () => import('./commands/weights.js') },
  features: { summary: 'embed images or an .npy batch with a pretrained model', load: () => import('./commands/features.js') },
  pretrain: { summary: 'pretrain the small embedded backbone (reproducible)', load: () => import('./commands/pretrain.js') },
  cluster: { summary: 'cluster a run\'s embeddings (PCA + Gaussian mixture or k-means)', load: () => import('./commands/cluster.js') },
  ensemble: { summary: 'evaluate an ensemble of runs (cascade step 4)', load: () => import('./commands/ensemble.js') },
  cascade: { summary: 'run a self-masking cascade end to end from a dispatcher run', load: () => import('./commands/cascade.js') },
  worker: { summary: 'run queued sweep points and cascade runs from Redis (--launcher queue) on this machine', load: () => import('./commands/worker.js') },
  web: { summary: 'export runs sharing one backbone to a web page that switches task masks, and serve it', load: () => import('./commands/web.js') },
  sweep: { summary: 'the status or HTML report of a sweep, from any machine', load: () => import('./commands/sweep.js') },
};
