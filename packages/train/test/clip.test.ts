import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { resolveConfig, runExperiment } from '../src/index.js';
import { bpeTokenizerJson } from '../../models/test/_tiny-tokenizer.js';

const CLIP_TINY = fileURLToPath(new URL('../../../../shared/fixtures/clip_tiny/', import.meta.url));

// A character-level BPE tokenizer.json (no merges) in Hugging Face's format: enough for the prompts of the
// embedded classes, with ids inside the tiny model's 1,000-token vocabulary.
function charTokenizer(): object {
  const chars = 'abcdefghijklmnopqrstuvwxyz-/';
  const vocab: Record<string, number> = { '<|startoftext|>': 0 };
  [...chars].forEach((c, i) => (vocab[c] = i + 1));
  vocab['<|endoftext|>'] = chars.length + 1; // the largest id, as in OpenAI's vocabulary
  return bpeTokenizerJson(vocab, []);
}

describe.skipIf(!existsSync(CLIP_TINY))('CLIP supervised masking (submask_clip_p)', () => {
  it('masks the attention/MLP weights and biases and the visual projection, with text-prompt logits', async () => {
    await useBackend('wasm');
    const dir = await mkdtemp(join(tmpdir(), 'smn-clip-'));
    const model = join(dir, 'clip');
    await cp(CLIP_TINY, model, { recursive: true });
    await writeFile(join(model, 'tokenizer.json'), JSON.stringify(charTokenizer()));
    const { config } = resolveConfig({
      configName: 'submask_clip_p',
      overrides: ['main.dataset=embedded', `model.pret.weights=${model}`, 'main.dataset_subset=64', 'dl.batch_size=32', 'dl.epochs=2'],
    });
    const r = await runExperiment({ config, runDir: join(dir, 'run'), workers: 0 });
    expect(r.completed).toBe(true);
    // Per vision layer: q, k, v, out (H×H + H each) and fc1, fc2 (H×I + I, I×H + H), weights and biases (docs/method.md#parameter-selection).
    const v = JSON.parse(await readFile(join(model, 'config.json'), 'utf8')).vision_config;
    const [H, I, L] = [v.hidden_size, v.intermediate_size, v.num_hidden_layers];
    expect(r.maskedEntries).toBe(L * (4 * (H * H + H) + (H * I + I) + (I * H + H)));
    expect(r.metrics['training/val/model_analysis/head_mean_mask']).toBeGreaterThan(0.5);
    expect(r.metrics['training/test/accuracy']).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(r.metrics['training/train/loss'])).toBe(true);
  }, 300_000);
});
