import { expect, it } from 'vitest';

// The names src/index.ts exports at run time (type-only exports do not appear). Changing them changes the public API:
// update this snapshot on purpose (vitest -u) and say so in a changeset (docs/contributing.md).
it('src/index.ts exports these names', async () => {
  expect(Object.keys(await import('../src/index.js')).sort()).toMatchInlineSnapshot(`
    [
      "SINKHORN_DEFAULTS",
      "SINKHORN_EXP_MAX_SPREAD",
      "SWAV_ERRORS",
      "SWAV_HEAD_DEFAULTS",
      "SWAV_LOSS_DEFAULTS",
      "SwavErrorCode",
      "SwavQueue",
      "createSwavHead",
      "prototypesFrozen",
      "sinkhorn",
      "swavLoss",
    ]
  `);
});
