// Runs the consumer project's scripts and checks what they report; shared by the Node 20 and Node 22 tests.
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { inputs } from '../consumer/inputs.mjs';
import { checkComputeResult, type ComputeResult } from './expected.js';
import { REPO_ROOT, describeRun, run, userEnv, type PackagingContext } from './helpers.js';

export interface NodeCheck {
  node: string;
  backend: string;
  exports: Record<string, string[]>;
  importErrors: Record<string, string>;
  results: ComputeResult;
  files: {
    smnmask: {
      bytesReported: number;
      bytesOnDisk: number;
      sameAsEncode: boolean;
      readNames: string[];
      readValues: Record<string, number[]>;
      loadedValues: Record<string, { shape: number[]; values: number[] }>;
    };
    safetensors: { sameAsEncode: boolean; names: string[]; weight: number[] };
  };
  torch: { available: boolean; reason: string | null };
}

/** Entry points a user imports, with a few names each must export (node-check.mjs imports every entry point there is). */
export const ENTRY_EXPORTS: Record<string, string[]> = {
  '@smn/core': ['SmnError', 'createRng', 'atomicWriteFile'],
  '@smn/backend-torch': ['isTorchAvailable', 'registerTorchBackend'],
  '@smn/datasets': ['loadDataset', 'EMBEDDED_DIR'],
  '@smn/backend': ['useBackend', 'tf'],
  '@smn/subnetworks': ['createMaskedModel', 'encodeMasks', 'decodeMasks', 'saveMasks', 'loadMasks'],
  '@smn/models': ['createResNet', 'encodeSafetensors', 'parseSafetensors', 'readSafetensors'],
  '@smn/knn': ['knnPredict'],
  '@smn/swav': ['sinkhorn', 'swavLoss'],
  '@smn/cascade': ['pcaWhiten'],
  '@smn/train': ['runExperiment', 'EMBEDDED_BACKBONE'],
  '@smn/train/config': ['composeConfig', 'BUILTIN_CONFIG_DIR'],
  '@smn/train/optim': ['lrAt'],
  '@smn/cli': ['main', 'version'],
};

/** `node node-check.mjs` in the project with the given Node binary (plain node: no tsx, no loader, no conditions). */
export async function runNodeCheck(ctx: PackagingContext, nodeBin: string, label: string): Promise<NodeCheck> {
  const out = join(ctx.tmp, `node-check-${label}.json`);
  const r = await run(nodeBin, ['node-check.mjs', out], { cwd: ctx.project, env: userEnv(), timeoutMs: 300_000 });
  expect(r.code, describeRun(`${nodeBin} node-check.mjs`, r)).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8')) as NodeCheck;
}

/** The checks of (a): every package imports, the four computations match the formulas, the files round-trip. */
export function checkNodeCheck(ctx: PackagingContext, c: NodeCheck): void {
  expect(c.importErrors).toEqual({});
  expect(Object.keys(c.exports)).toEqual(expect.arrayContaining([...ctx.tarballs.map((t) => t.name), ...Object.keys(ENTRY_EXPORTS)]));
  for (const [entry, names] of Object.entries(c.exports)) expect(names.length, `${entry} exports nothing`).toBeGreaterThan(0);
  for (const [entry, names] of Object.entries(ENTRY_EXPORTS)) {
    expect(c.exports[entry], `exports of ${entry}`).toEqual(expect.arrayContaining(names));
  }
  expect(c.backend).toMatchObject({ name: 'cpu' });
  checkComputeResult(c.results);

  const inp = inputs();
  const binaryBytes = c.results.smnmask.binary.hex.length / 2;
  expect(c.files.smnmask).toEqual({
    bytesReported: binaryBytes,
    bytesOnDisk: binaryBytes,
    sameAsEncode: true,
    readNames: [...inp.masks.keys()],
    readValues: Object.fromEntries([...inp.masks].map(([n, m]) => [n, Array.from(m.values)])),
    loadedValues: Object.fromEntries([...inp.masks].map(([n, m]) => [n, { shape: m.shape, values: Array.from(m.values) }])),
  });
  expect(c.files.safetensors).toEqual({
    sameAsEncode: true,
    names: [...inp.tensors.keys()].sort(),
    weight: Array.from(inp.tensors.get('layer.weight')!.data as Float32Array, (v) => v + 0), // JSON has no −0
  });

  // The addon npm built must load from where npm put it; without it the reason says why.
  if (ctx.addon.built) expect(c.torch, 'the addon was built but does not load').toEqual({ available: true, reason: null });
  else expect(c.torch.reason).toMatch(/not built|failed to load/);
}

/** Line (1-based) of the call typecheck.mts marks with `@ts-expect-error`. */
function expectErrorLine(source: string): number {
  const lines = source.split('\n');
  const marked = lines.flatMap((l, i) => (l.trim().startsWith('// @ts-expect-error') ? [i] : []));
  if (marked.length !== 1) throw new Error(`consumer/typecheck.mts must have one // @ts-expect-error line; found ${marked.length}`);
  const i = marked[0]!;
  return i + 1;
}

/** Errors of a `tsc --pretty false` run, one line each (continuation lines dropped). */
const tscErrors = (out: string): string[] => out.split('\n').filter((l) => /error TS\d+/.test(l));

/**
 * (b) Type-checks consumer/typecheck.mts against the installed .d.ts files with the repository's TypeScript: strict,
 * module/moduleResolution nodenext, default `types` (every installed @types package, as a plain project has).
 *
 * With skipLibCheck false, so every .d.ts the consumer reaches is checked too: ours, and the third-party ones they
 * import (tfjs-layers 4.22's are not strict-clean, so our declarations must not import it: see @smn/backend's tf.ts).
 * Then the file without its `@ts-expect-error` line must fail at exactly that call, so the expectation is real.
 */
export async function checkTypes(ctx: PackagingContext, nodeBin: string): Promise<void> {
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const options = { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true };
  const source = readFileSync(join(ctx.project, 'typecheck.mts'), 'utf8');
  const line = expectErrorLine(source);
  const config = (file: string, name: string, skipLibCheck: boolean): string => {
    writeFileSync(join(ctx.project, name), JSON.stringify({ compilerOptions: { ...options, skipLibCheck }, files: [file] }, null, 2));
    return name;
  };
  writeFileSync(
    join(ctx.project, 'typecheck-fail.mts'),
    source
      .split('\n')
      .filter((_, i) => i !== line - 1)
      .join('\n'),
  );
  const tscRun = (project: string) => run(nodeBin, [tsc, '-p', project, '--pretty', 'false'], { cwd: ctx.project, env: userEnv(), timeoutMs: 300_000 });

  const full = await tscRun(config('typecheck.mts', 'tsconfig.json', false));
  expect(tscErrors(full.stdout), describeRun('tsc -p tsconfig.json (strict nodenext consumer, skipLibCheck false)', full)).toEqual([]);
  expect(full.code, describeRun('tsc -p tsconfig.json (strict nodenext consumer, skipLibCheck false)', full)).toBe(0);

  const bad = await tscRun(config('typecheck-fail.mts', 'tsconfig.fail.json', false));
  expect(bad.code, describeRun('tsc -p tsconfig.fail.json', bad)).not.toBe(0);
  // The only error is the marked call (line `line` of typecheck.mts is line `line` of typecheck-fail.mts: the removed
  // comment line was above it), a string where knnPredict's k takes a number.
  const errors = tscErrors(bad.stdout);
  expect(errors, bad.stdout).toHaveLength(1);
  expect(errors[0]).toMatch(new RegExp(`^typecheck-fail\\.mts\\(${line},\\d+\\): error TS2322: Type 'string' is not assignable to type 'number'`));
}

/** How a test starts the installed `smn`: the command and arguments before smn's own, and the environment. */
export interface SmnLauncher {
  label: string;
  cmd: string;
  prefix: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * (c) The installed CLI: `--help`, `--version`, `data inspect --dataset embedded --json`, and one epoch of
 * `train --config-name submask` on the embedded data and backbone (default backend: torch when npm built the addon).
 * Returns the backend the run reported.
 */
export async function checkCli(ctx: PackagingContext, smn: SmnLauncher): Promise<{ backend: string; trainSeconds: number }> {
  const call = (args: string[], timeoutMs = 120_000) => run(smn.cmd, [...smn.prefix, ...args], { cwd: ctx.project, env: smn.env, timeoutMs });
  const cliVersion = ctx.tarballs.find((t) => t.name === '@smn/cli')!.version;

  const help = await call(['--help']);
  expect(help.code, describeRun('smn --help', help)).toBe(0);
  expect(help.stdout).toMatch(/^smn: Self-Masking Networks/);
  for (const command of ['train', 'data', 'config', 'quickstart']) expect(help.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));

  const version = await call(['--version']);
  expect(version.code, describeRun('smn --version', version)).toBe(0);
  expect(version.stdout.trim()).toBe(cliVersion);

  const inspect = await call(['data', 'inspect', '--dataset', 'embedded', '--json']);
  expect(inspect.code, describeRun('smn data inspect --dataset embedded --json', inspect)).toBe(0);
  const info = JSON.parse(inspect.stdout) as {
    dataset: string;
    numClasses: number;
    classes: string[];
    train: number;
    test: number;
    classCounts: { train: number[]; test: number[] };
  };
  // The shipped Fashion-MNIST subset: 10 classes, 2,000 train and 1,000 test images (packages/datasets/assets).
  expect(info).toMatchObject({ dataset: 'embedded', numClasses: 10, train: 2000, test: 1000 });
  expect(info.classes).toHaveLength(10);
  expect(info.classCounts.train.reduce((a, b) => a + b, 0)).toBe(2000);
  expect(info.classCounts.test.reduce((a, b) => a + b, 0)).toBe(1000);

  const runDir = join(ctx.tmp, `run-${smn.label}`);
  rmSync(runDir, { recursive: true, force: true }); // left by an earlier run under SMN_PACKAGING_REUSE
  const train = await call(
    ['train', '--config-name', 'submask', 'main.dataset=embedded', 'model.pret.name=embedded', 'dl.epochs=1', 'dl.scheduler=cosine', '--run-dir', runDir],
    900_000,
  );
  expect(train.code, describeRun('smn train --config-name submask … dl.epochs=1', train)).toBe(0);
  const backend = /^smn: backend (\S+)/m.exec(train.stderr)?.[1] ?? 'unknown';
  for (const f of ['config.yaml', 'overrides.yaml', 'metrics.jsonl', 'last.ckpt', 'masks.smnmask']) {
    expect(existsSync(join(runDir, f)), `${runDir}/${f}`).toBe(true);
  }
  const records = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, number | string>);
  const epochs = records.filter((r) => 'training/train/loss' in r);
  expect(epochs.map((r) => r.epoch)).toEqual([0]);
  expect(Number.isFinite(epochs[0]!['training/train/loss'])).toBe(true);
  const test = records.find((r) => 'training/test/accuracy' in r);
  expect(test?.['training/test/accuracy']).toBeGreaterThan(0.1); // better than chance on 10 classes
  const masks = readFileSync(join(runDir, 'masks.smnmask'));
  expect(Array.from(masks.subarray(0, 8))).toEqual([0x89, ...Buffer.from('SMNMASK', 'ascii')]);
  expect(statSync(join(runDir, 'last.ckpt')).size).toBeGreaterThan(masks.length);
  return { backend, trainSeconds: train.ms / 1000 };
}
