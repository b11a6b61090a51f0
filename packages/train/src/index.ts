export * from './config/index.js';
export * from './optim/index.js';
export { TrainErrorCode } from './errors.js';
export { openOwnedFolder, type OwnedFolder, type OpenOwnedFolderOptions } from './owned-folder.js';
export { isAbortError, unlessInterrupted } from './interrupt.js';
export { runLoop, type LoopPosition, type LoopOptions, type LoopResult, type LoopCallbacks, type BatchEndInfo } from './loop.js';
export { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint, type CheckpointData } from './checkpoint.js';
export { MetricsLog, readMetrics, type MetricRecord } from './metrics.js';
export { renderReport, lineChartSvg, seriesOf, fmtNum, type ReportSection, type Series } from './report.js';
export { runExperiment, type RunOptions, type RunResult, type RunEvents } from './experiment/run.js';
export {
  RUN_FILES,
  RUN_EMBEDDING_EXTRA_FILES,
  runPaths,
  runFolderOf,
  checkpointFileOf,
  hasCheckpoint,
  writeRunConfig,
  readRunConfig,
  readRunMetrics,
  readRunClasses,
  readRunTrainIndices,
  writeRunEmbeddings,
  writeRunSummary,
  readRunSummary,
  isRunComplete,
  openRunFolder,
  type RunPaths,
  type RunEmbeddings,
  type RunSummary,
} from './run-folder.js';
export { createTrainStep, forwardWithoutGradients, classificationObjective, type Objective, type TrainStepOptions, type ClassificationObjectiveOptions } from './step.js';
export { loadBackbone, type Backbone } from './experiment/backbone.js';
export { EMBEDDED_BACKBONE, EMBEDDED_SWAV_BACKBONE, EMBEDDED_BACKBONES } from './embedded-backbones.js';
export { fetchBackboneWeights, ensureDataset, type FetchInputsOptions, type BackboneWeightsPath, type EnsureDatasetResult } from './experiment/fetch-inputs.js';
export { embedSplit, classificationMetrics, l2normalizeRows, loadRunData, type Embedded, type RunData } from './experiment/data.js';
export { runCascade, planCascade, readDispatcherConfig, CASCADE_FILES, CASCADE_METHODS, type CascadeOptions, type CascadeResult, type CascadeEvents, type CascadeProgress, type CascadePlan, type CascadeRun, type CascadeExpertRun } from './run-cascade.js';
export { pretrainEmbedded, type PretrainOptions, type PretrainResult } from './pretrain.js';
export { SWAV_PRETRAIN_DEFAULTS, type SwavPretrainSettings } from './pretrain-swav.js';
export { useFusedKernels } from './fused-ops.js';
export { exportWeb, readWebManifest, webTaskId, WEB_FILES, type WebExportOptions, type WebExportResult, type WebManifest, type WebTask, type WebLayerStats } from './web-export.js';
