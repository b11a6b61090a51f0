export { sinkhorn, SINKHORN_DEFAULTS, SINKHORN_EXP_MAX_SPREAD } from './sinkhorn.js';
export { swavLoss, SWAV_LOSS_DEFAULTS } from './swav-loss.js';
export { createSwavHead, prototypesFrozen, SWAV_HEAD_DEFAULTS, type SwavHead } from './swav-head.js';
export { SwavQueue, type SwavQueueOptions } from './swav-queue.js';
export { SwavErrorCode, SWAV_ERRORS } from './errors.js';
export type {
  SinkhornOptions,
  PrototypesInput,
  SwavLossOptions,
  SwavLossResult,
  SwavHeadOptions,
  SavedArray,
  SwavQueueState,
} from './types.js';
