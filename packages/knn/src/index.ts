export { knnPredict, KNN_DEFAULTS } from './knn-predict.js';
export { knnAccuracy, knnSelfAccuracy, knnMemTrainAccuracy } from './knn-accuracy.js';
export { KnnErrorCode, KNN_ERRORS } from './errors.js';
export type {
  DenseMatrix,
  HostMatrix,
  MatrixInput,
  LabelsInput,
  KnnOptions,
  KnnResult,
  KnnAccuracyResult,
  KnnSelfAccuracyOptions,
} from './types.js';
