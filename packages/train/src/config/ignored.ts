/**
 * Keys of the reference's config that mean nothing in smn. They are accepted (in YAML files and as overrides, so
 * the reference's command lines run unchanged), dropped from the resolved config and reported as ignored.
 * Key → why it is ignored. `hydra.*` and `hydra/<group>` overrides are ignored as a whole.
 */
export const IGNORED_KEYS: Readonly<Record<string, string>> = {
  'main.mvp': 'smoke-test pass before the real job; smn runs the real job only',
  'main.main': 'switch for the real job after the mvp smoke test; smn always runs it',
  'main.in_mvp': 'internal flag of the mvp smoke test',
  'main.force_cpu': 'pick the device with --backend cpu (or main.backend / main.device)',
  'main.outputs': 'unused by the reference',
  'main.logging_mode': 'Neptune logging mode; smn writes metrics.jsonl in the run folder',
  'main.run': 'Neptune run id to resume; use smn train --resume runs/<id>',
  'main.verbose': 'Lightning verbosity; smn prints progress on the terminal',
  'main.find_lr': 'Lightning learning-rate finder',
  'main.save_as': 'unused by the reference',
  'main.fix_seed': 'smn always seeds everything with main.seed',
  'main.monitor': 'checkpoint selection metric; smn keeps last.ckpt (the reported numbers are last-epoch values)',
  'main.monitor_mode': 'checkpoint selection mode; smn keeps last.ckpt',
  'main.save_top_k': 'number of best checkpoints; smn keeps last.ckpt',
  'main.save_every_n_epochs': 'periodic checkpoints; smn rewrites last.ckpt at every epoch end',
  'model.pret.model_checkpoint': 'unused by the reference',
  'model.pret.head_init': 'unused by the reference',
  'dl.num_workers': 'data-loader worker processes (PyTorch); smn decodes in its own threads',
  'dl.num_workers_auto': 'data-loader worker processes (PyTorch)',
  'dl.multiprocessing_context': 'data-loader worker processes (PyTorch)',
  'dl.forward_batch_size': 'unused by the reference',
  'dl.start_lr': "dead code in the reference (volt/modules/deep_learning.py, DeepLearningModule's cosine_warmup)",
  'dl.final_lr': "dead code in the reference (volt/modules/deep_learning.py, DeepLearningModule's cosine_warmup)",
  'dl.base_lr': "dead code in the reference (volt/modules/deep_learning.py, DeepLearningModule's cosine_warmup)",
  'cls.force_analysis_cpu': 'GPU-memory switch of the reference; smn picks memory itself',
  'lp.solver': "cyanure's solver name; smn fits the same objective with its own full-batch solver",
  'lp.verbose': "cyanure's verbosity",
  'lp.random_state': 'unused by the reference',
  'lp.duality_gap_interval': "cyanure's duality-gap check interval",
};

/**
 * Why `key` is ignored, or undefined when it is not: `hydra.*` and `hydra/<group>` for every kind of config, else
 * the key's entry in `ignoredKeys` (default: the training config's {@link IGNORED_KEYS}).
 */
export function ignoredReason(key: string, ignoredKeys: Readonly<Record<string, string>> = IGNORED_KEYS): string | undefined {
  if (key === 'hydra' || key.startsWith('hydra.') || key.startsWith('hydra/')) return "Hydra's own settings (launcher, output dirs); smn has no Hydra";
  return Object.hasOwn(ignoredKeys, key) ? ignoredKeys[key] : undefined;
}

/** Keys renamed in smn: old → new. Setting the old one sets the new one (with a warning). */
export const KEY_ALIASES: Readonly<Record<string, string>> = {
  'main.data_path': 'main.data_root',
};
