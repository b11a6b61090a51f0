import { expect, it } from 'vitest';

// The names each entry exports at run time (type-only exports do not appear). Changing them changes the public API:
// update these snapshots on purpose (vitest -u) and say so in a changeset (docs/contributing.md).
it('src/browser.ts exports these names, and src/index.ts the same plus those that take paths', async () => {
  const browser = Object.keys(await import('../src/browser.js')).sort();
  const node = Object.keys(await import('../src/index.js')).sort();
  expect(browser).toMatchInlineSnapshot(`
    [
      "CLIP_MASKED_LAYERS",
      "ModelErrorCode",
      "buildClip",
      "clipParamSpecs",
      "clipPrompts",
      "clipSelection",
      "clipStateDict",
      "createClip",
      "createClipTokenizer",
      "createResNet",
      "encodeSafetensors",
      "findStateDict",
      "inferResNetConfig",
      "isRawTensor",
      "loadResNet",
      "parseClipConfig",
      "parseSafetensors",
      "parseWeights",
      "readTorchCheckpoint",
      "resnetSelection",
      "resnetSpecs",
      "resnetStateDict",
      "setTrainBatchNorm",
      "withCumulativeBatchNorm",
      "withHead",
    ]
  `);
  expect(browser.filter((n) => !node.includes(n))).toEqual([]);
  expect(node.filter((n) => !browser.includes(n))).toMatchInlineSnapshot(`
    [
      "loadClip",
      "loadClipTokenizer",
      "readSafetensors",
      "readWeights",
      "writeSafetensors",
    ]
  `);
});
