import { expect, it } from 'vitest';

// The names each entry exports at run time (type-only exports do not appear). Changing them changes the public API:
// update these snapshots on purpose (vitest -u) and say so in a changeset (docs/contributing.md).
it('src/browser.ts exports these names, and src/index.ts the same plus those that take paths', async () => {
  const browser = Object.keys(await import('../src/browser.js')).sort();
  const node = Object.keys(await import('../src/index.js')).sort();
  expect(browser).toMatchInlineSnapshot(`
    [
      "MASKED_MODEL_DEFAULTS",
      "MAX_MASK_ENTRIES",
      "SMNMASK_MAGIC",
      "SMNMASK_VERSION",
      "SQRT5",
      "SubnetErrorCode",
      "analyzeMasks",
      "applyMasks",
      "computeMask",
      "createMaskedLinear",
      "createMaskedModel",
      "decodeMasks",
      "encodeMasks",
      "fanIn",
      "hashParams",
      "initScoreValues",
      "initScores",
      "invSqrtSafeMean",
      "maskedWeight",
      "packBits",
      "parseSelection",
      "progressiveK",
      "resolveK",
      "unpackBits",
    ]
  `);
  expect(browser.filter((n) => !node.includes(n))).toEqual([]);
  expect(node.filter((n) => !browser.includes(n))).toMatchInlineSnapshot(`
    [
      "loadMasks",
      "readMaskFile",
      "saveMasks",
    ]
  `);
});
