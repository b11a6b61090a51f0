export type {
  RawImage,
  SampleRef,
  ImageDataset,
  LoadOptions,
  DatasetWarning,
  ImageBatch,
  Batch,
  Interpolation,
  NormStats,
  TransformOutput,
  JitterOptions,
  SupervisedPreset,
  EvalPreset,
  CropGroup,
  MulticropPreset,
  PresetSpec,
  TransformFn,
} from './types.js';
export { DatasetErrorCode, DATASET_ERRORS } from './errors.js';
export { loadDataset, datasetNames, DEBIAN_FASHION_MNIST, EMBEDDED_DIR } from './registry.js';
export { readIdx, parseIdx, readMaybeGzip, type IdxArray } from './idx.js';
export { idxDataset, FASHION_MNIST_CLASSES, MNIST_CLASSES } from './idx-dataset.js';
export { cifarBinaryDataset, detectCifar, cifarFiles, CIFAR10_CLASSES, type CifarLayout } from './cifar.js';
export { cifarPythonDataset } from './cifar-python.js';
export { imageFolderDataset, jsonSplitDataset, fileListDataset, IMAGE_EXTENSIONS } from './folder.js';
export { arrayDataset, type ArrayDatasetInit } from './array-dataset.js';
export { decodeImage, encodeImage, toRgb } from './decode.js';
export { groupLabels, groupIndexOfClasses, LABEL_GROUPINGS, LABEL_GROUPING_NAMES, type LabelGrouping } from './label-groups.js';
export { subsetIndices, subsetSize, parseSubsetSpec, labelSubset, clusterSubset, readClusterIds } from './subsets.js';
export {
  IMAGENET_NORM,
  CLIP_NORM,
  resampleBox,
  resize,
  resizeCrop,
  resizeShorter,
  shorterSideSize,
  crop,
  centerCrop,
  centerCropBox,
  randomResizedCropBox,
  resizedCrop,
  hflip,
  luma,
  grayscale,
  solarize,
  adjustBrightness,
  adjustContrast,
  adjustSaturation,
  adjustHue,
  colorJitter,
  boxRadiusForGaussian,
  gaussianBlur,
  normStats,
  normalize,
  type CropBox,
} from './transforms.js';
export {
  compilePreset,
  compileSampleTransform,
  RESAMPLE_MODES,
  presetSpec,
  presetViewSizes,
  multicropGroups,
  sampleRng,
  mixSeed,
  DEFAULT_MULTICROP,
  PRESET_NAMES,
} from './presets.js';
export { createLoader, createWorkerPool, maxWorkers, epochOrder, type LoaderOptions, type DataLoader, type WorkerPool } from './loader.js';
export { previewGrid, type PreviewOptions } from './preview.js';
