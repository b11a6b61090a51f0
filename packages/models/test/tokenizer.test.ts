import { describe, expect, it } from 'vitest';
import { clipPrompts, createClipTokenizer } from '../src/index.js';
import { tokenizerJson } from './_tiny-tokenizer.js';

describe('CLIP tokenizer (@huggingface/tokenizers on a tokenizer.json)', () => {
  it('encodes prompts with start/end tokens, pads to the longest with the pad token and masks the padding', () => {
    const tok = createClipTokenizer(tokenizerJson, { pad_token: '<|endoftext|>' });
    expect(tok.padId).toBe(1);
    const { ids, mask } = tok.encode(['This is a cat', 'a dog', 'A cat']);
    expect(ids).toEqual([
      [0, 13, 14, 6, 16, 1],
      [0, 6, 8, 9, 10, 1],
      [0, 6, 16, 1, 1, 1],
    ]);
    expect(mask).toEqual([
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 0, 0],
    ]);
    const short = createClipTokenizer(tokenizerJson, { pad_token: '<|endoftext|>' }, 3);
    expect(short.encode(['this is a cat']).ids).toEqual([[0, 13, 1]]);
  });
  it('builds the reference prompts', () => {
    expect(clipPrompts(['cat', 'dog'])).toEqual(['This is a photo of a cat', 'This is a photo of a dog']);
  });
});
