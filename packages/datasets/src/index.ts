// The Node entry: everything of the browser entry (browser.ts), plus the dataset readers (files), image decoding
// (sharp), the loaders (worker threads) and previews.
export * from './browser.js';
export type { LoadOptions, DatasetWarning } from './types.js';
export { loadDataset, datasetNames, DEBIAN_FASHION_MNIST, EMBEDDED_DIR } from './registry.js';
export { readIdx, parseIdx, readMaybeGzip, type IdxArray } from './idx.js';
export { idxDataset, FASHION_MNIST_CLASSES, MNIST_CLASSES } from './idx-dataset.js';
export { cifarBinaryDataset, detectCifar, cifarFiles, CIFAR10_CLASSES, type CifarLayout } from './cifar.js';
export { cifarPythonDataset } from './cifar-python.js';
export { imageFolderDataset, jsonSplitDataset, fileListDataset, IMAGE_EXTENSIONS } from './folder.js';
export { decodeImage, encodeImage, toRgb } from './decode.js';
export { subsetIndices, subsetSize, parseSubsetSpec, labelSubset, clusterSubset, readClusterIds } from './subsets.js';
export { createLoader, createWorkerPool, maxWorkers, epochOrder, type LoaderOptions, type DataLoader, type WorkerPool } from './loader.js';
export { previewGrid, type PreviewOptions } from './preview.js';
