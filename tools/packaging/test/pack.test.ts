// 0. What `pnpm pack` puts in each tarball: built files, docs, licence; no tests; versions instead of workspace ranges;
// every path the manifest names is in the tarball; every package the built code imports is a dependency.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT, timed, type TarballInfo } from './helpers.js';

const ctx = inject('packaging');

interface Manifest {
  name: string;
  version: string;
  files?: string[];
  bin?: Record<string, string> | string;
  exports?: unknown;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const entries = new Map<string, string[]>();
const unpacked = new Map<string, string>();

beforeAll(async () => {
  await timed(ctx, '0. unpack and inspect tarballs', async () => {
    for (const t of ctx.tarballs) {
      entries.set(t.name, execFileSync('tar', ['-tzf', t.file], { encoding: 'utf8' }).split('\n').filter(Boolean));
      const dir = join(ctx.tmp, 'unpacked', t.dir);
      mkdirSync(dir, { recursive: true });
      execFileSync('tar', ['-xzf', t.file, '-C', dir]);
      unpacked.set(t.name, join(dir, 'package'));
    }
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Every string target of an `exports` map, under every condition. */
function exportTargets(exp: unknown, conditions: string[] = []): { target: string; conditions: string[] }[] {
  if (typeof exp === 'string') return [{ target: exp, conditions }];
  if (exp && typeof exp === 'object') return Object.entries(exp).flatMap(([k, v]) => exportTargets(v, [...conditions, k]));
  return [];
}

/** The package a bare specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (spec: string): string => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
const isBuiltin = (spec: string): boolean => spec.startsWith('node:') || builtinModules.includes(packageOf(spec));

/** Bare specifiers imported by a built .js or .d.ts file (static, dynamic, re-exports, require and require.resolve). */
function importsOf(source: string): string[] {
  // Comments go first: JSDoc examples import packages a user has, not ones this package needs.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = new Set<string>();
  const patterns = [
    /(?:^|[\s;}])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/gm,
    /(?:^|[\s;}])import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire(?:\([^)]*\))?(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) found.add(m[1]!);
  return [...found].filter((s) => !s.startsWith('.') && !s.startsWith('/'));
}

describe('0. pnpm pack', () => {
  it('packs every package under packages/* (private ones excepted)', () => {
    const dirs = readdirSync(join(REPO_ROOT, 'packages')).filter((d) => {
      const file = join(REPO_ROOT, 'packages', d, 'package.json');
      return existsSync(file) && !(JSON.parse(readFileSync(file, 'utf8')) as { private?: boolean }).private;
    });
    expect(ctx.tarballs.map((t) => t.dir).sort()).toEqual(dirs.map((d) => `packages/${d}`).sort());
  });

  describe.each(ctx.tarballs.map((t) => [t.name, t] as [string, TarballInfo]))('%s', (name, t) => {
    const manifest = (): Manifest => JSON.parse(readFileSync(join(unpacked.get(name)!, 'package.json'), 'utf8')) as Manifest;

    it('has LICENSE, README.md, dist/index.js, dist/index.d.ts and no tests or fixtures', () => {
      const files = entries.get(name)!.map((e) => e.replace(/^package\//, ''));
      expect(files).toEqual(expect.arrayContaining(['package.json', 'LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts']));
      expect(files.filter((f) => /(^|\/)(test|tests|__tests__|fixtures)\//.test(f) || /\.(test|spec)\.[cm]?[jt]s$/.test(f))).toEqual([]);
      expect(files.filter((f) => f.endsWith('.tsbuildinfo') || f.startsWith('node_modules/') || f.endsWith('.tgz'))).toEqual([]);
      expect(t.bytes).toBeGreaterThan(0);
    });

    it('has versions where the workspace has workspace: and catalog: ranges', () => {
      const m = manifest();
      expect(m.name).toBe(name);
      expect(m.version).toBe(t.version);
      const text = JSON.stringify(m);
      expect(text).not.toMatch(/"(workspace|catalog):/);
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const) {
        for (const [dep, range] of Object.entries(m[field] ?? {})) {
          expect(range, `${field}.${dep}`).toMatch(/^[\^~]?\d+\.\d+\.\d+|^>=|^\*$/);
          if (dep.startsWith('@smn/')) {
            const own = ctx.tarballs.find((x) => x.name === dep);
            expect(own, `${field}.${dep}: no such package in the workspace`).toBeDefined();
            expect(range.replace(/^[\^~]/, ''), `${field}.${dep}`).toBe(own!.version);
          }
        }
      }
    });

    it('contains every file its exports, bin and files fields name', () => {
      const m = manifest();
      const root = unpacked.get(name)!;
      const targets = exportTargets(m.exports);
      expect(targets.length).toBeGreaterThan(0);
      const missing = targets.filter(({ target }) => !existsSync(join(root, target))).map(({ target, conditions }) => `${conditions.join(' > ')}: ${target}`);
      const bins = typeof m.bin === 'string' ? [m.bin] : Object.values(m.bin ?? {});
      missing.push(...bins.filter((b) => !existsSync(join(root, b))).map((b) => `bin: ${b}`));
      for (const b of bins) {
        if (existsSync(join(root, b))) expect(readFileSync(join(root, b), 'utf8').startsWith('#!/usr/bin/env node\n'), `bin ${b} starts with #!/usr/bin/env node`).toBe(true);
      }
      // `files` entries that are optional by nature (a changelog not written yet) may be absent; the rest must be there.
      missing.push(...(m.files ?? []).filter((f) => f !== 'CHANGELOG.md' && !existsSync(join(root, f))).map((f) => `files: ${f}`));
      expect(missing).toEqual([]);
    });

    it('imports only its dependencies, peer dependencies, optional dependencies and Node built-ins', () => {
      const m = manifest();
      const root = unpacked.get(name)!;
      const allowed = new Set([name, ...Object.keys(m.dependencies ?? {}), ...Object.keys(m.peerDependencies ?? {}), ...Object.keys(m.optionalDependencies ?? {})]);
      const problems: string[] = [];
      for (const file of walk(join(root, 'dist')).filter((f) => /\.(js|mjs|d\.ts|d\.mts)$/.test(f))) {
        for (const spec of importsOf(readFileSync(file, 'utf8'))) {
          if (isBuiltin(spec) || allowed.has(packageOf(spec))) continue;
          problems.push(`${relative(root, file)} imports '${spec}', which is not in dependencies, peerDependencies or optionalDependencies`);
        }
      }
      expect(problems).toEqual([]);
    });
  });
});
