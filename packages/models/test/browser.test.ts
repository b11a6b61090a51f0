import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, useBackend } from '@smn/backend';
import { bundleBrowserEntry, loadInBrowserContext, type BrowserBundle } from '../../core/test/_browser-bundle.js';
import * as browser from '../src/browser.js';
import * as node from '../src/index.js';
import type { RawTensor, StateDict } from '../src/index.js';
import { tokenizerJson } from './_tiny-tokenizer.js';

const FIX = join(import.meta.dirname, 'fixtures');
const NODE_ONLY = ['loadClip', 'loadClipTokenizer', 'readSafetensors', 'readWeights', 'writeSafetensors'];

let bundle: BrowserBundle;
beforeAll(async () => {
  await useBackend('cpu');
  bundle = await bundleBrowserEntry('models');
});

/** A state dict as plain arrays, comparable across realms. */
const plain = (sd: Map<string, RawTensor>) =>
  [...sd].map(([name, t]) => ({ name, shape: [...t.shape], dtype: t.dtype, data: Array.from(t.data as ArrayLike<number | bigint>, String) }));

describe('the browser entry of @smn/models', () => {
  it('bundles for the browser with no Node built-in anywhere in its import graph (tfjs and the tokenizer included)', () => {
    expect(bundle.problems).toEqual([]);
    expect(bundle.builtins).toEqual([]);
    expect(bundle.inputs).toContain('packages/core/src/browser.ts');
    expect(bundle.inputs.some((f) => f.includes('node_modules/@huggingface/tokenizers/'))).toBe(true);
    expect(bundle.inputs.filter((f) => f.endsWith('-file.ts') || f.endsWith('core/src/index.ts'))).toEqual([]);
  });

  it('exports a subset of the Node entry, the same functions but loadResNet (state dicts only)', () => {
    const names = Object.keys(browser);
    expect(names.filter((n) => !(n in node))).toEqual([]);
    for (const n of names.filter((x) => x !== 'loadResNet')) {
      expect((node as Record<string, unknown>)[n], n).toBe((browser as Record<string, unknown>)[n]);
    }
    expect(Object.keys(node).filter((n) => !(n in browser)).sort()).toEqual(NODE_ONLY);
  });

  it('loadResNet of a parsed state dict builds what the Node entry loads from the file; a path is a usage error', async () => {
    const file = join(FIX, 'r18w8.pth');
    const before = tf.memory().numTensors;
    const a = await browser.loadResNet(browser.parseWeights(readFileSync(file), file));
    const b = await node.loadResNet(file);
    expect(a.config).toEqual(b.config);
    expect([...a.params.keys()]).toEqual([...b.params.keys()]);
    for (const [name, t] of a.params) expect(Array.from(t.dataSync()), name).toEqual(Array.from(b.params.get(name)!.dataSync()));
    for (const [name, t] of a.buffers) expect(Array.from(t.dataSync()), name).toEqual(Array.from(b.buffers.get(name)!.dataSync()));
    a.dispose();
    b.dispose();
    let err: { code?: string; kind?: string; message?: string } = {};
    try {
      await browser.loadResNet('resnet50.pth' as unknown as StateDict);
    } catch (e) {
      err = e as typeof err;
    }
    expect([err.code, err.kind]).toEqual(['SMN_WEIGHTS_PATH_UNSUPPORTED', 'usage']);
    expect(err.message).toContain('loadResNet("resnet50.pth"): the browser build of @smn/models reads no files');
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('@smn/models without Node (a web worker context: no process, Buffer or require)', () => {
  it('parses PyTorch checkpoints and safetensors to the tensors the Node entry reads', async () => {
    const smn = loadInBrowserContext(bundle);
    for (const f of ['r18w8.pth', 'zip_nested.pth.tar', 'legacy_nested.pth.tar']) {
      const file = join(FIX, f);
      expect(plain(smn.parseWeights(readFileSync(file), f)), f).toEqual(plain(await node.readWeights(file)));
    }
    const io = join(FIX, 'io_r18w8.safetensors');
    expect(plain(smn.parseSafetensors(readFileSync(io), 'io').tensors)).toEqual(plain(await node.readSafetensors(io)));
  });

  it('writes safetensors byte-identical to the Node entry', async () => {
    const smn = loadInBrowserContext(bundle);
    const bytes = readFileSync(join(FIX, 'r18w8.pth'));
    // Parsed on each side: typed arrays from this realm would fail the other realm's instanceof checks.
    const there = Uint8Array.from(smn.encodeSafetensors(smn.parseWeights(bytes), { format: 'pt' }));
    const here = node.encodeSafetensors(node.parseWeights(bytes), { format: 'pt' });
    expect(Buffer.compare(Buffer.from(there), Buffer.from(here))).toBe(0);
  });

  it('tokenizes CLIP prompts as on Node', () => {
    const smn = loadInBrowserContext(bundle);
    const texts = smn.clipPrompts(['cat', 'dog']) as string[];
    const there = smn.createClipTokenizer(tokenizerJson, { pad_token: '<|endoftext|>' }).encode(texts);
    const here = node.createClipTokenizer(tokenizerJson, { pad_token: '<|endoftext|>' }).encode(node.clipPrompts(['cat', 'dog']));
    expect(JSON.parse(JSON.stringify(there))).toEqual(here);
  });
});
