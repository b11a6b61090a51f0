import { expect, it } from 'vitest';

// The names each entry exports at run time (type-only exports do not appear). Changing them changes the public API:
// update these snapshots on purpose (vitest -u) and say so in a changeset (docs/contributing.md).
it('src/browser.ts exports these names, and src/index.ts the same plus those that take paths', async () => {
  const browser = Object.keys(await import('../src/browser.js')).sort();
  const node = Object.keys(await import('../src/index.js')).sort();
  expect(browser).toMatchInlineSnapshot(`
    [
      "BACKEND_NAMES",
      "CoreErrorCode",
      "DEFLATE_MAX_RATIO",
      "DOCS_BASE_URL",
      "FusedKernel",
      "SmnError",
      "assert",
      "createRng",
      "docsUrl",
      "encodeNpy",
      "fmtShape",
      "inflateLimited",
      "isSmnError",
      "latin1Bytes",
      "numpyGlobals",
      "parseNpy",
      "readZip",
      "torchLinearInit",
      "unpickle",
    ]
  `);
  expect(browser.filter((n) => !node.includes(n))).toEqual([]);
  expect(node.filter((n) => !browser.includes(n))).toMatchInlineSnapshot(`
    [
      "LOCK_ERRORS",
      "acquireLock",
      "atomicWriteFile",
      "pathExists",
      "readLock",
      "readNpy",
      "writeNpy",
    ]
  `);
});
