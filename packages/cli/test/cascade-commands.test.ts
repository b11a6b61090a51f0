import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, parseNpy, writeNpy } from '@smn/core';
import { runCli } from './_cli.js';

const smn = (...argv: string[]) => runCli(['--backend', 'cpu', ...argv]);

/** Six classes in three well-separated groups; each model sees them with its own noise. */
async function writeRun(dir: string, seed: number, labels: { train: Int32Array; test: Int32Array }, centres: number[][]): Promise<void> {
  const rng = createRng(seed);
  const D = centres[0]!.length;
  for (const split of ['train', 'test'] as const) {
    const y = labels[split];
    const raw = new Float32Array(y.length * D);
    const norm = new Float32Array(y.length * D);
    for (let i = 0; i < y.length; i++) {
      let s = 0;
      for (let d = 0; d < D; d++) {
        const v = Math.abs(centres[y[i]!]![d]! + rng.normal() * 0.6);
        raw[i * D + d] = v;
        s += v * v;
      }
      for (let d = 0; d < D; d++) norm[i * D + d] = raw[i * D + d]! / Math.sqrt(s);
    }
    await writeNpy(join(dir, 'embeddings', `${split}_raw.npy`), { shape: [y.length, D], dtype: 'float32', data: raw });
    await writeNpy(join(dir, 'embeddings', `${split}_norm.npy`), { shape: [y.length, D], dtype: 'float32', data: norm });
    await writeNpy(join(dir, 'embeddings', `${split}_labels.npy`), { shape: [y.length], dtype: 'int32', data: y });
  }
}

describe('smn cluster and smn ensemble', () => {
  let root = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'smn-cascade-cli-'));
    const rng = createRng(1);
    const D = 8;
    // Groups own disjoint coordinates; classes differ inside a group.
    const centres = Array.from({ length: 6 }, (_, c) => Array.from({ length: D }, (_, d) => (Math.floor(d / 3) === Math.floor(c / 2) ? 6 + (c % 2) * 3 * (d % 2) : 0.5) + rng.next() * 0.1));
    const labels = {
      train: Int32Array.from({ length: 180 }, (_, i) => i % 6),
      test: Int32Array.from({ length: 60 }, (_, i) => (i * 5) % 6),
    };
    for (const [i, name] of ['disp', 'e0', 'e1', 'e2'].entries()) await writeRun(join(root, name), 10 + i, labels, centres);
  });

  it('clusters a run folder, prints the diagnostics and writes the documented files', async () => {
    const r = await smn('cluster', '--run', join(root, 'disp'), '--clusters', '3', '--components', '4', '--seed', '0');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/cluster sizes: \d+ \/ \d+ \/ \d+/);
    const mean = Number(/Mean \(largest-cluster share per class\): ([\d.]+)/.exec(r.out)![1]);
    const ami = Number(/AMI \(ADJ\): ([\d.]+)/.exec(r.out)![1]);
    expect(mean).toBeGreaterThan(0.95); // every class sits in one group
    expect(ami).toBeGreaterThan(0.5); // 3 clusters vs 6 classes: high but below 1
    const ids = parseNpy(Uint8Array.from(await readFile(join(root, 'disp', 'clusters', 'clusters.npy'))));
    expect(ids.shape).toEqual([180]);
    const info = JSON.parse(await readFile(join(root, 'disp', 'clusters', 'clustering.json'), 'utf8'));
    expect(info).toMatchObject({ format: 'smn-clustering', method: 'gmm', clusters: 3, components: 4, rows: 180, dims: 8 });
    // Same seed, same assignments.
    const again = await smn('cluster', '--run', join(root, 'disp'), '--clusters', '3', '--components', '4', '--out', join(root, 'again'), '--json');
    expect(again.code).toBe(0);
    const ids2 = parseNpy(Uint8Array.from(await readFile(join(root, 'again', 'clusters.npy'))));
    expect(Array.from(ids2.data as Int32Array)).toEqual(Array.from(ids.data as Int32Array));
    expect(JSON.parse(again.out).sizes).toEqual(info.sizes);
  }, 60_000);

  it('evaluates ensembles from a YAML config with overrides and a --multirun sweep', async () => {
    const cfg = join(root, 'ens.yaml');
    await writeFile(
      cfg,
      `defaults: [ensembling]\nruns: [${['disp', 'e0', 'e1', 'e2'].map((n) => JSON.stringify(join(root, n))).join(', ')}]\ncluster_ids: [0, 1, 2]\nknn: { k: 20 }\n`,
    );
    const r = await smn('ensemble', '--config', cfg, '--multirun', 'method=baseline,pca_unconditional', 'pca_components=8', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out) as { method: string; knnAccuracy: number; probeAccuracy: number; dims: number }[];
    expect(res.map((x) => x.method)).toEqual(['baseline', 'pca_unconditional']);
    expect(res[0]!.dims).toBe(8);
    expect(res[1]!.dims).toBe(8);
    for (const x of res) {
      expect(x.knnAccuracy).toBeGreaterThan(0.5);
      expect(x.probeAccuracy).toBeGreaterThan(0.5);
    }
    const text = await smn('ensemble', '--config', cfg, 'method=conditional', 'linear_probe=0');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/KNN Accuracy: 0\.\d{4}/);
    expect(text.out).not.toContain('Linear probe');
  }, 60_000);

  it('reports every config problem at once (exit 2)', async () => {
    const cfg = join(root, 'bad.yaml');
    await writeFile(cfg, `runs: [${JSON.stringify(join(root, 'disp'))}, x]\ncluster_ids: [0, 1]\nmethod: pca\nfoo: 1\n`);
    const r = await smn('ensemble', '--config', cfg);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`ensemble config ${cfg} has 3 problems:`);
    expect(r.err).toContain(`  - foo: unknown key (from ${cfg}); did you mean`);
    expect(r.err).toContain('cluster_ids: 2 ids for 1 experts');
    expect(r.err).toContain(`  - method: expected baseline | replace | conditional | unconditional | pca_conditional | pca_unconditional | add_conditional | add_unconditional, got 'pca' (from ${cfg})`);
  });
});
