// The contract between models and masking, as types over the tensor type: @smn/core has no tfjs, so @smn/models and
// @smn/subnetworks (same layer, neither imports the other) instantiate it with tf.Tensor and tf.Variable.

/** What happens to one parameter: learn a mask over it, train it, or keep it fixed (the reference's selection). */
export type SelectionMode = 'mask' | 'train' | 'freeze';

/** A selection mode, optionally with the analysis slot (group) the parameter belongs to. */
export type Selection = SelectionMode | readonly [SelectionMode, string];

/** Options of a model's `apply`. */
export interface ApplyOptions {
  /** Training mode: BatchNorm uses batch statistics and updates the running buffers. Default false. */
  training?: boolean;
}

/**
 * A model as a function of a parameter map. Parameter names are PyTorch's (`layer1.0.conv1.weight`); layouts are
 * tfjs's, converted once at load: conv OIHW → HWIO `[kh, kw, in, out]`, linear `[out, in]` → `[in, out]`.
 * `T` is the tensor type, `V` the variable type of the buffers.
 */
export interface FunctionalModelOf<T, V extends T = T> {
  /** Learnable parameters (owned by the model; `dispose()` frees them). */
  params: Map<string, T>;
  /** BatchNorm running statistics (`running_mean`, `running_var`, `num_batches_tracked`), updated in training mode. */
  buffers: Map<string, V>;
  /** Runs the model on `x` (NHWC float32). The caller disposes the result. Usable inside `tf.grad`. */
  apply(params: Map<string, T>, x: T, opts?: ApplyOptions): T;
  /** Frees params and buffers. */
  dispose(): void;
}
