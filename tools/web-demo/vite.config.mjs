// Builds the page of `smn web` into packages/cli/web-page/, which @smn/cli ships and `smn web export` copies next to
// the exported files (docs/web.md; docs/decisions.md, "The web page ships built inside @smn/cli").
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The browser entries of the browser-safe packages, from their sources (no build of theirs needed): the same API as
// their published `browser` export condition, with no Node built-in in the import graph.
const browserEntry = (name) => ({ find: new RegExp(`^@smn/${name}$`), replacement: fileURLToPath(new URL(`../../packages/${name}/src/browser.ts`, import.meta.url)) });

export default defineConfig({
  base: './',
  resolve: { alias: ['core', 'subnetworks', 'models', 'datasets'].map(browserEntry) },
  build: {
    outDir: fileURLToPath(new URL('../../packages/cli/web-page', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
});
