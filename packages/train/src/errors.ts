/**
 * Error codes raised by @smn/train (all via `SmnError` from @smn/core). Codes of lower packages that train raises
 * come from their registries (`CascadeErrorCode.Option`, `ModelErrorCode.WeightsMissing`, `DatasetErrorCode`, …).
 */
export const TrainErrorCode = {
  /** A flag, argument or combination that is not accepted (an override flag without a value, no config or two). Usage (exit 2). */
  Usage: 'SMN_USAGE',
  /** The run was interrupted (its AbortSignal fired) and nothing was written: `pretrain`; the CLI aborts with it on a signal (exit 130). */
  Interrupted: 'SMN_INTERRUPTED',

  /** A config file is not valid YAML, or not a mapping of the expected shape (`defaults:` and `extends:` together, …). Usage (exit 2). */
  ConfigParse: 'SMN_CONFIG_PARSE',
  /** A Hydra override (`key=value`, `+key=value`, `key=a,b`) cannot be parsed. Usage (exit 2). */
  ConfigOverride: 'SMN_CONFIG_OVERRIDE',
  /** A multirun sweep has more combinations than `maxRuns` (smn train: `--max-runs`). Usage (exit 2). */
  ConfigTooManyRuns: 'SMN_CONFIG_TOO_MANY_RUNS',
  /** A `--config-dir` (`configDirs`) entry is not a folder. Usage (exit 2). */
  ConfigDirNotFound: 'SMN_CONFIG_DIR_NOT_FOUND',
  /** No config of that name or file (or it is not a regular file). Usage (exit 2). */
  ConfigNotFound: 'SMN_CONFIG_NOT_FOUND',
  /** Config inheritance (`defaults:` / `extends:`) loops. Usage (exit 2). */
  ConfigCycle: 'SMN_CONFIG_CYCLE',
  /** The resolved config fails the schema or the cross-key rules; the message lists every problem. Usage (exit 2). */
  ConfigInvalid: 'SMN_CONFIG_INVALID',
  /** No weights for the `model.pret` source/name and no `model.pret.weights`. Usage (exit 2). */
  ConfigWeightsMissing: 'SMN_CONFIG_WEIGHTS_MISSING',
  /** A parameter matches several of `model.pret.train_layers`. Usage (exit 2). */
  ConfigSelection: 'SMN_CONFIG_SELECTION',
  /** `cls.fc` names a head smn train does not support, or one the backbone cannot have. Usage (exit 2). */
  ConfigHead: 'SMN_CONFIG_HEAD',
  /** `main.task` asks for nothing to run. Usage (exit 2). */
  ConfigTask: 'SMN_CONFIG_TASK',
  /** `main.model` or `model.pret.name` is not a model smn can run. Usage (exit 2). */
  ConfigModel: 'SMN_CONFIG_MODEL',
  /** `main.dataset` does not fit the run (SwAV training needs `multicrop_*`). Usage (exit 2). */
  ConfigDataset: 'SMN_CONFIG_DATASET',

  /** `dl.optimizer` is not an optimizer smn knows. Usage (exit 2). */
  OptimUnknown: 'SMN_OPTIM_UNKNOWN',
  /** A bad optimizer option (momentum, Nesterov, a group's lr or weight decay). */
  OptimOption: 'SMN_OPTIM_OPTION',
  /** A parameter group given twice, a parameter in two groups, or an unknown group name. */
  OptimGroup: 'SMN_OPTIM_GROUP',
  /** A parameter that is not float32. */
  OptimDtype: 'SMN_OPTIM_DTYPE',
  /** A gradient for a parameter in no group. */
  OptimUnknownParam: 'SMN_OPTIM_UNKNOWN_PARAM',
  /** A gradient whose shape is not its parameter's. */
  OptimGradShape: 'SMN_OPTIM_GRAD_SHAPE',
  /** Optimizer state (from a checkpoint) that does not fit this optimizer. */
  OptimStateMismatch: 'SMN_OPTIM_STATE_MISMATCH',
  /** `cls.size_scale_wd=true` without a training set size. */
  OptimTrainSize: 'SMN_OPTIM_TRAIN_SIZE',
  /** Head hyper-parameters that this optimizer cannot give a group of their own (as in the reference). Usage (exit 2). */
  OptimHeadGroup: 'SMN_OPTIM_HEAD_GROUP',
  /** A learning-rate schedule's options are invalid. Usage (exit 2). */
  ScheduleInvalid: 'SMN_SCHEDULE_INVALID',
  /** A schedule asked for an epoch it has no lr for (negative, not an integer, past the end of cosine_cooldown). */
  ScheduleEpoch: 'SMN_SCHEDULE_EPOCH',

  /** No folder given for a run (or cascade), or an empty path. Usage (exit 2). */
  RunDir: 'SMN_RUN_DIR',
  /** The run folder's path, or a folder above it, is a file. Usage (exit 2). */
  RunDirNotADir: 'SMN_RUN_DIR_NOT_A_DIR',
  /** The run folder is on a pseudo file system (/proc, /sys, ...), where files cannot be kept. Usage (exit 2). */
  RunDirSpecialFs: 'SMN_RUN_DIR_SPECIAL_FS',
  /** Creating, writing, renaming or deleting a file in the run folder failed (read-only, permissions, disk full). Runtime (exit 1). */
  RunDirNotWritable: 'SMN_RUN_DIR_NOT_WRITABLE',
  /** A run folder to resume or read does not exist or holds no config.yaml. Usage (exit 2). */
  RunNotFound: 'SMN_RUN_NOT_FOUND',
  /** A new run's folder already holds a run (its checkpoint). Usage (exit 2). */
  RunExists: 'SMN_RUN_EXISTS',
  /** A run folder lacks a file a finished run has (summary.json, the embeddings' classes). */
  RunIncomplete: 'SMN_RUN_INCOMPLETE',
  /** A run's summary.json is not an smn run summary. */
  RunSummaryInvalid: 'SMN_RUN_SUMMARY_INVALID',
  /** A resume whose config differs from the run's (or whose config.yaml no longer matches its checkpoint). Usage (exit 2). */
  ResumeConfig: 'SMN_RESUME_CONFIG',
  /** A resume of a run folder that has no checkpoint. Usage (exit 2). */
  ResumeNoCkpt: 'SMN_RESUME_NO_CKPT',
  /** A cascade's dispatcher or expert run cannot be used (not SwAV masking, not finished, no config.yaml). */
  CascadeRun: 'SMN_CASCADE_RUN',

  /** A checkpoint cannot be read. */
  CkptNotFound: 'SMN_CKPT_NOT_FOUND',
  /** A checkpoint is unusable (bad header, metadata, or a tensor its metadata lists is absent). */
  CkptCorrupt: 'SMN_CKPT_CORRUPT',
  /** A strict load finds no tensor for a model variable. */
  CkptMissing: 'SMN_CKPT_MISSING',
  /** A checkpoint tensor's shape does not fit its data or the model's variable. */
  CkptShape: 'SMN_CKPT_SHAPE',
  /** The checkpoint cannot be saved (disk full, read-only, …); the previous one is kept. Runtime (exit 1). */
  CkptWrite: 'SMN_CKPT_WRITE',

  /** The loss became NaN or infinite. */
  TrainDiverged: 'SMN_TRAIN_DIVERGED',
  /** An internal inconsistency (a batch of the wrong kind for a step); a bug in smn. */
  TrainInternal: 'SMN_TRAIN_INTERNAL',
  /** `pretrain`: no training images of the classes asked for. */
  PretrainEmpty: 'SMN_PRETRAIN_EMPTY',

  /** `web export`: runs trained on different base weights (their weight files or mask hashes differ). Usage (exit 2). */
  WebBaseMismatch: 'SMN_WEB_BASE_MISMATCH',
  /** `web export`: a run the page cannot run as a task (fine-tuned, CLIP, no mask or head to export), or no manifest. Usage (exit 2). */
  WebRunUnsupported: 'SMN_WEB_RUN_UNSUPPORTED',
} as const;

export type TrainErrorCode = (typeof TrainErrorCode)[keyof typeof TrainErrorCode];
