export {
  Optimizer,
  createOptimizer,
  type OptimizerName,
  type OptimizerOptions,
  type OptimizerState,
  type ParamGroup,
  type GroupInfo,
  type SavedSlot,
} from './optimizer.js';
export { lrAt, lrSchedule, applySchedule, scheduleOptionsFromConfig, type SchedulableOptimizer, type SchedulerName, type ScheduleOptions, type ScheduleConfigKeys } from './schedule.js';
export { groupHyperparams, optimizerOptionsFromConfig, type GroupHyperparams, type GroupConfigKeys } from './groups.js';
