#!/usr/bin/env node
// Fails when a package depends sideways or upward (docs/decisions.md explains the layers).
// Checks package.json dependencies and every import of an @smn/* package in src/ and test/.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const LAYERS = {
  '@smn/core': 0,
  '@smn/backend-torch': 1,
  '@smn/datasets': 1,
  '@smn/backend': 2,
  '@smn/hub': 2,
  '@smn/subnetworks': 3,
  '@smn/models': 3,
  '@smn/knn': 3,
  '@smn/swav': 4,
  '@smn/cascade': 4,
  '@smn/train': 5,
  '@smn/launch': 6,
  '@smn/cli': 7,
};

const root = new URL('..', import.meta.url).pathname;
const pkgsDir = join(root, 'packages');
const problems = [];

function* files(dir) {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (e !== 'node_modules' && e !== 'fixtures') yield* files(p);
    } else if (/\.(ts|mts|js|mjs)$/.test(e)) yield p;
  }
}

for (const dir of readdirSync(pkgsDir)) {
  const pj = join(pkgsDir, dir, 'package.json');
  if (!existsSync(pj)) continue;
  const pkg = JSON.parse(readFileSync(pj, 'utf8'));
  const own = LAYERS[pkg.name];
  if (own === undefined) {
    problems.push(`${pkg.name}: not in the layer table of tools/check-layers.mjs; add it with its layer`);
    continue;
  }
  const check = (dep, where) => {
    if (!dep.startsWith('@smn/') || dep === pkg.name) return;
    const l = LAYERS[dep];
    if (l === undefined) problems.push(`${pkg.name} (${where}) uses unknown package ${dep}`);
    else if (l >= own) {
      problems.push(`${pkg.name} (layer ${own}) depends on ${dep} (layer ${l}) in ${where}: packages may only depend on lower layers`);
    }
  };
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
    for (const dep of Object.keys(pkg[field] ?? {})) check(dep, `package.json ${field}`);
  }
  for (const sub of ['src', 'test']) {
    for (const f of files(join(pkgsDir, dir, sub))) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](@smn\/[a-z-]+)/g)) {
        check(m[1], f.slice(root.length));
        const declared = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'].some(
          (k) => pkg[k]?.[m[1]] !== undefined,
        );
        if (!declared && m[1] !== pkg.name) problems.push(`${f.slice(root.length)} imports ${m[1]} but ${pkg.name}'s package.json does not list it`);
      }
    }
  }
}

if (problems.length) {
  console.error(`layer check failed:\n- ${[...new Set(problems)].join('\n- ')}`);
  process.exit(1);
}
console.log(`layer check: ${readdirSync(pkgsDir).length} packages, no sideways or upward dependencies`);
