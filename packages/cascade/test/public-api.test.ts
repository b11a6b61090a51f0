import { expect, it } from 'vitest';

// The names src/index.ts exports at run time (type-only exports do not appear). Changing them changes the public API:
// update this snapshot on purpose (vitest -u) and say so in a changeset (docs/contributing.md).
it('src/index.ts exports these names', async () => {
  expect(Object.keys(await import('../src/index.js')).sort()).toMatchInlineSnapshot(`
    [
      "CASCADE_ERRORS",
      "CLUSTERING_FILES",
      "CascadeErrorCode",
      "ENSEMBLE_METHODS",
      "RUN_EMBEDDING_FILES",
      "accuracy",
      "adjustedMutualInfo",
      "adjustedRandIndex",
      "argmaxRows",
      "cascadeStorage",
      "clusterDiagnostics",
      "clusterEmbeddings",
      "clusterSizes",
      "concatEmbeddings",
      "ensembleFeatures",
      "evaluateFeatures",
      "expectedMutualInfo",
      "expertEpochs",
      "fitGmm",
      "fitLinearProbe",
      "kmeansCluster",
      "l2NormalizeRows",
      "linearProbeObjective",
      "loadClustering",
      "loadGmm",
      "loadKmeans",
      "meanLargestClusterShare",
      "pcaWhiten",
      "probeLogits",
      "readLabelsNpy",
      "readMatrixNpy",
      "readRunEmbeddings",
      "routeRows",
      "runEmbeddingPath",
      "saveClustering",
      "whitenRows",
    ]
  `);
});
