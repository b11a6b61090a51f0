// A tiny BPE tokenizer.json in Hugging Face's format (CLIP-like special tokens and template), written by hand.
// Expected ids follow from the merge ranks: "this" = t h i s → th i s → thi s → this; "is" = i s; "cat" = c a t → ca t → cat.
const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/** A BPE tokenizer.json in Hugging Face's format with CLIP's special tokens and template, from a vocab and merges. */
export function bpeTokenizerJson(vocab: Record<string, number>, merges: string[]): object {
  const [start, end] = [vocab['<|startoftext|>']!, vocab['<|endoftext|>']!];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(start, '<|startoftext|>'), special(end, '<|endoftext|>')],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|startoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|endoftext|>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: {
        '<|startoftext|>': { id: '<|startoftext|>', ids: [start], tokens: ['<|startoftext|>'] },
        '<|endoftext|>': { id: '<|endoftext|>', ids: [end], tokens: ['<|endoftext|>'] },
      },
    },
    decoder: null,
  };
}

const vocab = { '<|startoftext|>': 0, '<|endoftext|>': 1, t: 2, h: 3, i: 4, s: 5, a: 6, c: 7, d: 8, o: 9, g: 10, th: 11, thi: 12, this: 13, is: 14, ca: 15, cat: 16 };
export const tokenizerJson = bpeTokenizerJson(vocab, ['t h', 'th i', 'thi s', 'i s', 'c a', 'ca t']);
