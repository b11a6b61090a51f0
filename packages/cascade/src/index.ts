export type {
  DenseMatrix,
  PcaWhitenOptions,
  PcaWhitening,
  GmmOptions,
  GmmJson,
  GaussianMixture,
  ClusterModel,
  KmeansJson,
  KmeansModel,
  ClusterDiagnostics,
  EnsembleMethod,
  EnsembleInputs,
  EnsembleOptions,
  EnsembleFeatures,
  LinearProbeOptions,
  LinearProbe,
} from './types.js';
export { CascadeErrorCode, CASCADE_ERRORS } from './errors.js';
export { pcaWhiten, whitenRows } from './pca-whiten.js';
export { fitGmm, loadGmm } from './gaussian-mixture.js';
export { kmeansCluster, loadKmeans } from './kmeans-cluster.js';
export {
  adjustedMutualInfo,
  adjustedRandIndex,
  expectedMutualInfo,
  clusterSizes,
  meanLargestClusterShare,
  clusterDiagnostics,
} from './diagnostics.js';
export { expertEpochs } from './schedule.js';
export { cascadeStorage, type CascadeStorage } from './storage.js';
export { fitLinearProbe, linearProbeObjective, probeLogits, argmaxRows, type ProbeObjective } from './linear-probe.js';
export {
  ENSEMBLE_METHODS,
  ensembleFeatures,
  concatEmbeddings,
  l2NormalizeRows,
  evaluateFeatures,
  accuracy,
  type EnsembleEvaluation,
} from './ensemble.js';
export {
  clusterEmbeddings,
  routeRows,
  saveClustering,
  loadClustering,
  CLUSTERING_FILES,
  type ClusterOptions,
  type Clustering,
  type ClusteringInfo,
  type PcaParams,
} from './clustering.js';
export {
  RUN_EMBEDDING_FILES,
  runEmbeddingPath,
  readMatrixNpy,
  readLabelsNpy,
  readRunEmbeddings,
  type RunEmbeddingName,
} from './run-embeddings.js';
