import { Tokenizer } from '@huggingface/tokenizers';
import { SmnError } from '@smn/core';
import { ModelErrorCode } from './errors.js';

/** A text tokenizer for CLIP prompts, backed by `@huggingface/tokenizers` reading a Hugging Face `tokenizer.json`. */
export interface ClipTokenizer {
  /** Token ids of each text (with the start/end tokens), padded to the longest (`padding=True`), truncated to `maxLength` keeping the end token. */
  encode(texts: string[]): { ids: number[][]; mask: number[][] };
  /** The id used for padding. */
  readonly padId: number;
}

/**
 * Makes a tokenizer from the parsed `tokenizer.json` (and optional `tokenizer_config.json`) objects. The padding id is
 * the tokenizer config's `pad_token` (CLIP: `<|endoftext|>`), else `tokenizer.json`'s `padding.pad_id`, else 0.
 */
export function createClipTokenizer(tokenizerJson: object, tokenizerConfig: Record<string, unknown> = {}, maxLength = 77): ClipTokenizer {
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokenizerJson, tokenizerConfig);
  } catch (err) {
    throw new SmnError(ModelErrorCode.TokenizerInvalid, `cannot build a tokenizer from tokenizer.json: ${(err as Error).message}`, { cause: err });
  }
  const padTok = tokenizerConfig.pad_token;
  const padName = typeof padTok === 'string' ? padTok : (padTok as { content?: string } | undefined)?.content;
  const padId =
    (padName !== undefined ? tok.token_to_id(padName) : undefined) ??
    ((tokenizerJson as { padding?: { pad_id?: number } }).padding?.pad_id ?? 0);
  return {
    padId,
    encode(texts) {
      const enc = texts.map((t) => {
        const e = tok.encode(t).ids;
        // truncate like transformers: keep the end token
        return e.length > maxLength ? [...e.slice(0, maxLength - 1), e[e.length - 1]!] : e;
      });
      const L = Math.max(...enc.map((e) => e.length));
      return {
        ids: enc.map((e) => [...e, ...new Array<number>(L - e.length).fill(padId)]),
        mask: enc.map((e) => [...new Array<number>(e.length).fill(1), ...new Array<number>(L - e.length).fill(0)]),
      };
    },
  };
}

/** The reference's CLIP prompts: "This is a photo of a {label}" for each label. */
export function clipPrompts(labels: readonly string[], template = 'This is a photo of a {label}'): string[] {
  return labels.map((l) => template.replace('{label}', l));
}
