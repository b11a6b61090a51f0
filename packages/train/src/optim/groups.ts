import { SmnError } from '@smn/core';
import type { OptimizerName, OptimizerOptions } from './optimizer.js';
import { TrainErrorCode } from '../errors.js';

/** lr and weight decay of one parameter group. */
export interface GroupHyperparams {
  lr: number;
  weightDecay: number;
}

/** The config keys the two groups are derived from (a resolved config has them). */
export interface GroupConfigKeys {
  dl: { optimizer: OptimizerName; lr: number; weight_decay: number; momentum: number; betas: readonly number[]; eps: number };
  cls: { head_lr: number; head_wd: number; head_scale_lr: boolean; head_scale_wd: boolean; size_scale_wd: boolean };
}

/**
 * lr and weight decay of the backbone and head groups, as the reference's ClassifierModule.configure_optimizers
 * computes them (ClassifierModule.configure_optimizers; docs/method.md#optimizers):
 * - sgd/sgdc: wd = dl.weight_decay (× 50000 / trainSize when cls.size_scale_wd);
 *   head lr = cls.head_lr × (dl.lr if cls.head_scale_lr else 1); head wd = cls.head_wd × (wd if cls.head_scale_wd else 1).
 * - adam/adamw: both groups at dl.lr and dl.weight_decay; cls.head_lr/head_wd must be 1 with both scaling flags on.
 */
export function groupHyperparams(cfg: GroupConfigKeys, trainSize?: number): { backbone: GroupHyperparams; head: GroupHyperparams } {
  const { dl, cls } = cfg;
  let wd = dl.weight_decay;
  if (cls.size_scale_wd) {
    if (trainSize === undefined || !(trainSize > 0)) {
      throw new SmnError(TrainErrorCode.OptimTrainSize, 'cls.size_scale_wd=true scales the weight decay by 50000 / (training set size), but no training set size was given');
    }
    wd *= 50000 / trainSize;
  }
  if (dl.optimizer === 'sgd' || dl.optimizer === 'sgdc') {
    return {
      backbone: { lr: dl.lr, weightDecay: wd },
      head: {
        lr: cls.head_lr * (cls.head_scale_lr ? dl.lr : 1),
        weightDecay: cls.head_wd * (cls.head_scale_wd ? wd : 1),
      },
    };
  }
  if (cls.head_lr !== 1 || cls.head_wd !== 1 || !cls.head_scale_lr || !cls.head_scale_wd) {
    throw new SmnError(
      TrainErrorCode.OptimHeadGroup,
      `dl.optimizer=${dl.optimizer} trains the head at dl.lr and dl.weight_decay like the reference; it needs cls.head_lr=1 cls.head_wd=1 cls.head_scale_lr=true cls.head_scale_wd=true, found head_lr=${cls.head_lr} head_wd=${cls.head_wd} head_scale_lr=${cls.head_scale_lr} head_scale_wd=${cls.head_scale_wd}`,
      { kind: 'usage' },
    );
  }
  return { backbone: { lr: dl.lr, weightDecay: wd }, head: { lr: dl.lr, weightDecay: wd } };
}

/** The optimizer-wide options from `dl.*` (momentum for sgd/sgdc, betas/eps for adam/adamw; dampening 0, no Nesterov). */
export function optimizerOptionsFromConfig(dl: GroupConfigKeys['dl']): Omit<OptimizerOptions, 'groups'> {
  const [b1, b2] = dl.betas;
  return {
    optimizer: dl.optimizer,
    momentum: dl.momentum,
    dampening: 0,
    nesterov: false,
    betas: [b1 ?? 0.9, b2 ?? 0.98],
    eps: dl.eps,
  };
}
