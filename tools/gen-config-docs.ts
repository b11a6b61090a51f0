// Writes docs/config.md from the config schema, the ignored-key table and packages/train/configs/*.yaml.
// Run: pnpm tsx tools/gen-config-docs.ts   (packages/train/test/config-docs.test.ts fails when the file is stale)
import { writeFileSync } from 'node:fs';
import { renderConfigDocs } from '../packages/train/src/config/index.js';

const target = new URL('../docs/config.md', import.meta.url);
writeFileSync(target, renderConfigDocs());
console.log(`wrote ${target.pathname}`);
