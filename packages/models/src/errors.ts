/**
 * Error codes raised by @smn/models (all `SmnError`s from @smn/core). Files that cannot be read are `@smn/core`'s
 * `CoreErrorCode.FileNotFound`, pickles with a refused reference its `CoreErrorCode.PickleForbidden`.
 */
export const ModelErrorCode = {
  /** Not a weight file smn reads (bad magic, no data.pkl, big-endian, legacy storage views), or no state dict in it. */
  WeightsFormat: 'SMN_WEIGHTS_FORMAT',
  /** A weight file is shorter than its header or pickle says (truncated download?). */
  WeightsTruncated: 'SMN_WEIGHTS_TRUNCATED',
  /** A header that cannot be right: bad JSON, duplicate names, overlapping data, negative or fractional sizes. */
  WeightsBadHeader: 'SMN_WEIGHTS_BAD_HEADER',
  /** A tensor of a type smn cannot read, or not a floating-point type where one is needed. */
  WeightsDtype: 'SMN_WEIGHTS_DTYPE',
  /** A tensor the model needs is not in the file (or no name has the prefix asked for). */
  WeightsMissing: 'SMN_WEIGHTS_MISSING',
  /** The file holds tensors the model does not have (strict loading). */
  WeightsExtra: 'SMN_WEIGHTS_EXTRA',
  /** A tensor's shape differs from the model's, or from its own data length. */
  WeightsShapeMismatch: 'SMN_WEIGHTS_SHAPE_MISMATCH',
  /** A path was passed where only bytes or a state dict are accepted (the browser entry). */
  WeightsPathUnsupported: 'SMN_WEIGHTS_PATH_UNSUPPORTED',
  /** A tokenizer.json that does not build a tokenizer. */
  TokenizerInvalid: 'SMN_TOKENIZER_INVALID',
  /** A bad model configuration (depth, width, CLIP config values, a head that is absent). */
  ModelConfig: 'SMN_MODEL_CONFIG',
  /** An input of the wrong shape, dtype or range for `apply` (images, token ids). */
  ModelInput: 'SMN_MODEL_INPUT',
  /** A parameter missing from the map passed to `apply`. */
  ModelParam: 'SMN_MODEL_PARAM',
  /** Shapes that do not line up inside the model (a residual branch and its shortcut). */
  ModelShape: 'SMN_MODEL_SHAPE',
  /** A parameter selection that is ambiguous (a name matching several train_layers). */
  ModelSelection: 'SMN_MODEL_SELECTION',
} as const;

export type ModelErrorCode = (typeof ModelErrorCode)[keyof typeof ModelErrorCode];
