// What the README promises a user of the installed packages: its example runs as written, the optional backends are
// named with their install line, and a release (`changeset version`) bumps every published package together.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { NODE, REPO_ROOT, describeRun, run, userEnv } from './helpers.js';

const ctx = inject('packaging');

/** The first fenced block of `lang` after `heading` in the root README. */
function readmeBlock(heading: string, lang: string): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const from = readme.indexOf(`\n${heading}\n`);
  expect(from, `README.md has a "${heading}" section`).toBeGreaterThan(-1);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(readme.slice(from));
  expect(m, `a \`\`\`${lang} block under "${heading}"`).not.toBeNull();
  return m![1]!;
}

describe('the README, run by a user of the installed packages', () => {
  it('"Use a package in your project": the install line names only published packages, and the example runs with plain node', async () => {
    const install = readmeBlock('## Use a package in your project', 'sh').trim();
    const names = install.replace(/^npm install\s+/, '').split(/\s+/);
    const published = new Set([...ctx.tarballs.map((t) => t.name), '@tensorflow/tfjs-core']);
    for (const n of names) expect(published.has(n), `${n} in the README's install line`).toBe(true);

    writeFileSync(join(ctx.project, 'readme-example.mjs'), readmeBlock('## Use a package in your project', 'js'));
    const r = await run(NODE, ['readme-example.mjs'], { cwd: ctx.project, env: userEnv(), timeoutMs: 300_000 });
    expect(r.code, describeRun('node readme-example.mjs', r)).toBe(0);
    // ResNet-18's residual blocks hold 16 convolutions named layer*.conv*; logits of 2 images over 10 classes.
    const m = /\[ 2, 10 \] (\d+) bytes for (\d+) masks/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![2])).toBe(16);
    // Gzip of random bits barely shrinks: about 1 bit per weight of those convolutions (10,985,472 weights).
    expect(Number(m![1])).toBeGreaterThan(10_985_472 / 8);
    expect(Number(m![1])).toBeLessThan((10_985_472 / 8) * 1.1);
  });

  it('an optional backend that is not installed is named with its npm install line, and auto says why it went past it', async () => {
    const script = `
      import { useBackend, OPTIONAL_BACKEND_PACKAGES } from '@smn/backend';
      const out = { packages: OPTIONAL_BACKEND_PACKAGES };
      try { await useBackend('webgpu'); out.webgpu = 'chosen'; } catch (e) { out.webgpu = { code: e.code, kind: e.kind, message: e.message }; }
      const auto = await useBackend('auto');
      out.auto = { name: auto.name, skipped: auto.skipped };
      console.log(JSON.stringify(out));
      process.exit(0);`;
    writeFileSync(join(ctx.project, 'optional-backends.mjs'), script);
    // An addon path that does not exist makes torch unavailable, so auto walks past every optional backend.
    const env = userEnv({ SMN_TORCH_ADDON: join(ctx.tmp, 'no-such-addon.node') });
    const r = await run(NODE, ['optional-backends.mjs'], { cwd: ctx.project, env, timeoutMs: 300_000 });
    expect(r.code, describeRun('node optional-backends.mjs', r)).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      packages: { webgpu: string[]; tensorflow: string[] };
      webgpu: { code: string; kind: string; message: string };
      auto: { name: string; skipped: { name: string; reason: string }[] };
    };
    const line = `npm install ${out.packages.webgpu.join(' ')}`;
    expect(out.packages.webgpu).toEqual(['webgpu@0.6.2', '@tensorflow/tfjs-backend-webgpu@4.22.0']);
    expect(out.webgpu.code).toBe('SMN_BACKEND_UNAVAILABLE');
    expect(out.webgpu.kind).toBe('usage');
    expect(out.webgpu.message).toContain(line);
    expect(out.webgpu.message).toContain('not installed');
    expect(out.auto.name).toBe('wasm');
    expect(out.auto.skipped.map((s) => s.name)).toEqual(['torch', 'tensorflow', 'webgpu']);
    expect(out.auto.skipped[0]!.reason).toContain('no-such-addon.node');
    expect(out.auto.skipped[1]!.reason).toBe('@tensorflow/tfjs-node-gpu: not installed; @tensorflow/tfjs-node: not installed');
    expect(out.auto.skipped[2]!.reason).toContain(line);
    expect(existsSync(join(ctx.project, 'node_modules', 'webgpu'))).toBe(false);
  });
});

describe('a release', () => {
  it('`changeset version` bumps every published package to one version and writes each CHANGELOG.md', async () => {
    const clone = mkdtempSync(join(ctx.tmp, 'release-'));
    try {
      const c = await run('git', ['clone', '-q', REPO_ROOT, clone], { cwd: ctx.tmp, timeoutMs: 120_000 });
      expect(c.code, describeRun('git clone', c)).toBe(0);
      // The working tree's changesets (committed or not) are what a release would take.
      cpSync(join(REPO_ROOT, '.changeset'), join(clone, '.changeset'), { recursive: true });
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(clone, 'node_modules'));
      const pending = readdirSync(join(clone, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
      expect(pending.length, 'changesets waiting for a release').toBeGreaterThan(0);

      const v = await run(join(clone, 'node_modules', '.bin', 'changeset'), ['version'], { cwd: clone, env: userEnv(), timeoutMs: 120_000 });
      expect(v.code, describeRun('changeset version', v)).toBe(0);

      const versions = new Set<string>();
      for (const t of ctx.tarballs) {
        const pkg = JSON.parse(readFileSync(join(clone, t.dir, 'package.json'), 'utf8')) as { version: string };
        versions.add(pkg.version);
        const log = readFileSync(join(clone, t.dir, 'CHANGELOG.md'), 'utf8');
        expect(log.startsWith(`# ${t.name}\n\n## ${pkg.version}\n`), `${t.dir}/CHANGELOG.md starts with the new version`).toBe(true);
      }
      expect(versions.size, `one version for every package: ${[...versions].join(', ')}`).toBe(1);
      const [next] = [...versions];
      expect(next).not.toBe(ctx.tarballs[0]!.version);
      expect(readdirSync(join(clone, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md')).toEqual([]);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});
