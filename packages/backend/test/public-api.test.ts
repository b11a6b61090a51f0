import { expect, it } from 'vitest';

// The names src/index.ts exports at run time (type-only exports do not appear). Changing them changes the public API:
// update this snapshot on purpose (vitest -u) and say so in a changeset (docs/contributing.md).
it('src/index.ts exports these names', async () => {
  expect(Object.keys(await import('../src/index.js')).sort()).toMatchInlineSnapshot(`
    [
      "AUTO_ORDER",
      "BACKEND_HINTS",
      "BACKEND_NAMES",
      "BackendErrorCode",
      "OPTIONAL_BACKEND_PACKAGES",
      "WASM_CPU_FALLBACK_KERNELS",
      "WASM_TRAINING_KERNELS",
      "currentBackend",
      "disableLeanBackprop",
      "enableLeanBackprop",
      "leanBackpropEnabled",
      "registerWasmTrainingKernels",
      "releaseBackend",
      "tf",
      "useBackend",
    ]
  `);
});
