import { BACKEND_NAMES } from '@smn/core';
import { LABEL_GROUPING_NAMES } from '@smn/datasets';
import { z } from 'zod';

// The schema of a resolved config: every key of the reference's dataclasses (main.py, volt/) that means something here,
// plus smn's additions (marked "smn:"). Defaults live in configs/default.yaml, not here, so that the YAML files are
// the one place to read them; the schema says what is valid. Keys of the reference that mean nothing here are in
// IGNORED_KEYS (ignored.ts). Descriptions feed docs/config.md (tools/gen-config-docs.ts).

const bool = (d: string) => z.boolean().describe(d);
const int = (d: string) => z.number().int().describe(d);
const num = (d: string) => z.number().describe(d);
const str = (d: string) => z.string().describe(d);
const PRUNE = ['threshold', 'topk', 'flip'] as const;
const MODE = ['train', 'mask', 'freeze'] as const;

/** `cls.fc` values (docs/method.md#heads). */
export const HEAD_KINDS = [
  '',
  'linear',
  'masked',
  'mlp_masked',
  'multihead',
  'multihead_masked',
  'probed',
  'positive',
  'negative',
  'dual',
  'pret',
  'pret_submasked',
] as const;

/** Backends `main.backend` accepts (as `--backend`): `@smn/core`'s `BACKEND_NAMES`. */
export const CONFIG_BACKENDS = BACKEND_NAMES;

export const mainSchema = z.strictObject({
  task: z
    .enum(['train', 'summary'])
    .describe("What to do: 'train' runs the job; 'summary' does nothing (as the reference): smn train exits without running it, runExperiment refuses it."),
  model: z
    .enum(['pret', 'clip', 'timm', 'repro'])
    .describe(
      "Model path. Only 'pret' (a pretrained backbone from model.pret.*) works, as in the reference where every YAML sets it via baseline.yaml; the reference's default 'clip' and the 'timm'/'repro' paths are broken there (docs/method.md#known-deviations-of-the-reference) and refused by the trainer (SMN_CONFIG_MODEL).",
    ),
  info: str('Free-text tag of the run (stored with it).'),
  dataset: str(
    "Dataset name: the reference's names (cifar10pgn, cifar100, flowers, dtd, eurosat, oxfordpets, ucf101, sun397, food101, multicrop_<name> for SSL, …) or 'embedded' (smn: the small dataset shipped with smn).",
  ),
  dataset_labels: z
    .enum(LABEL_GROUPING_NAMES)
    .describe(
      "smn: the labels to learn: '' = the dataset's own; 'coarse' = Fashion-MNIST's 10 classes merged into 4 (upper body: T-shirt/top, Pullover, Coat, Shirt; lower body and dresses: Trouser, Dress; footwear: Sandal, Sneaker, Ankle boot; bag: Bag), for embedded, fashion_mnist and their multicrop_* names (@smn/datasets, label-groups.ts). The run's classes.json names the groups; main.dataset_subset_labels then counts in groups.",
    ),
  dataset_subset: str("Train-set subset: 'Np' keeps N% of the train set, 'N' keeps N samples, '' keeps all (docs/method.md#subsets)."),
  dataset_subset_labels: str("Keep only these label names, 'a:b:c' (multicrop datasets only, as the reference)."),
  dataset_subset_clusters_file: str('Cascade: file with one cluster id per train sample ("" = off, docs/method.md#subsets).'),
  dataset_subset_cluster: int('Cascade: the cluster id whose samples form the train set.'),
  data_root: str("smn: folder that holds the datasets (the reference's main.data_path, which is accepted as an alias)."),
  download: bool(
    "smn: before the run, fetch main.dataset into main.data_root when the reader finds it nowhere there (cifar10pgn, cifar100, multicrop_cifar10/100, fashion_mnist, mnist: the files torchvision downloads, verified by their md5; smn data fetch does the same). On by default, as the reference's torchvision datasets use download=True; datasets without a download (the JSON-split ones) are read as they are. 0 = never fetch.",
  ),
  checkpoint_path: str('Folder in which a relative main.load_checkpoint is also looked up (after the working directory).'),
  load_checkpoint: str(
    "Initialise from another run's checkpoint (e.g. runs/<id>/last.ckpt): loads the weights and scores only, not the optimizer or epoch ('' = off).",
  ),
  strict_load_checkpoint: bool('With main.load_checkpoint: every tensor of the model must be in the checkpoint and match (0 = load what matches).'),
  resume_checkpoint: str(
    "Resume a run completely (same as smn train --resume; the reference's trainer.fit(ckpt_path)): a run folder or its last.ckpt ('' = off). The run continues in that folder; every other key must equal its config.yaml, except main.run_dir, main.backend and main.device.",
  ),
  train: bool('Train (fit). main.train=0 main.probe=1 is the linear-probe protocol (docs/method.md#linear-probing).'),
  test: bool('Evaluate on the test split at the end.'),
  validate: bool('Validate before training.'),
  probe: bool('Fit the logistic-regression probe on unaugmented train features before validation (docs/method.md#probe).'),
  update_bn: bool(
    "smn: before the final evaluation, recompute the BatchNorm running statistics as the average over the unaugmented train bank, in training mode (PyTorch's swa_utils.update_bn). Training on augmented crops leaves statistics that do not match the evaluation images; the reference keeps them.",
  ),
  seed: int('smn: seed of every random choice (init, shuffling, augmentation, subsets). Same seed, same backend, same numbers.'),
  run_dir: str(
    'smn: folder of the run (config.yaml, metrics.jsonl, last.ckpt, …) when smn train gets no --run-dir; with --multirun, <run_dir>-<k>. null = runs/<time>-<config>.',
  ).nullable(),
  backend: z
    .enum(CONFIG_BACKENDS)
    .nullable()
    .describe('smn: compute backend of smn train and smn cascade when --backend is not given (the flag wins); null = $SMN_BACKEND, else auto.'),
  device: z
    .enum(['cpu', 'cuda'])
    .nullable()
    .describe('smn: device of the torch backend (smn train, smn cascade); null = cuda when available. Other backends ignore it.'),
});

export const pretSchema = z.strictObject({
  source: z
    .enum(['hub', 'timm', 'torch', 'clip', 'mocov2'])
    .describe(
      "Where the reference loads the backbone from (torch hub, timm, torchvision, HF CLIP, a MoCo file). Without model.pret.weights, smn fetches the same weights by source/repo/name into its cache on first use (hub facebookresearch/swav resnet50 → swav-resnet50, hub facebookresearch/dino dino_resnet50 → dino-resnet50, torch resnet18|34|50|101 → torchvision-resnetN, timm resnet18|resnet50 → timm/resnetN.a1_in1k, clip openai/clip-vit-base-patch32; smn weights list) and mocov2 reads data/models/<name>.pth.tar, as the reference. Ignored for model.pret.name=embedded.",
    ),
  repo: str("Torch-hub repository of the backbone (source=hub): 'facebookresearch/swav:main' (SwAV) or 'facebookresearch/dino:main' (DINO)."),
  name: str("Backbone name: resnet18, resnet50, dino_resnet50, openai/clip-vit-base-patch32, … or 'embedded' / 'embedded_swav' (smn: the small backbones shipped with smn, supervised / SwAV)."),
  weights: str(
    'smn: weight file or folder of the backbone (safetensors, .pth/.pth.tar, a HF folder); null = what model.pret.source/repo/name name, fetched and verified into the cache (SMN_CACHE, default ~/.cache/smn; SMN_MIRROR, SMN_OFFLINE=1). Set it to use weights of your own.',
  ).nullable(),
  submask_scale: bool('Scale masked weights by 1/sqrt(mean(mask)) (paper Eq. 1).'),
  head: z.enum(MODE).describe("Mode of parameters named 'fc' in the backbone (none remain: fc is removed first)."),
  backbone: z.enum(MODE).describe("Mode of the selected backbone parameters: 'mask' learns masks (submask), 'train' fine-tunes (baseline), 'freeze'."),
  train_layers: z
    .array(z.string())
    .describe("Substrings selecting the backbone parameters to mask/train: ['conv'], ['conv','downsample'] for ResNets; the attention/MLP projections for CLIP."),
  pretrained_head: bool('Keep the pretrained classification head (must be false, as asserted by the reference).'),
  pretrained_backbone: bool('Load pretrained backbone weights (timm path only in the reference).'),
  head_type: z.enum(['linear', 'identity']).describe("What replaces the backbone's own head: must be 'identity' (asserted by the reference; baseline.yaml sets it)."),
  init_scores_mean: num('Mean of the normal score init (1.0 in every paper run: all weights start kept).'),
  init_scores_std: num('Std of the normal score init.'),
  init_scores_magnitude: bool('Initialise scores from the weight magnitudes.'),
  init_scores_shuffle: bool('Shuffle the magnitude-initialised scores.'),
  kaiming_scores_init: bool("Kaiming-uniform score init (the reference's default_scores_init; topk runs of Table 2)."),
  prune_criterion: z.enum(PRUNE).describe("Mask rule: 'threshold' keeps scores > k, 'topk' keeps the top k fraction per tensor, 'flip' gives ±1 (docs/method.md#masks)."),
  prune_k: num('k of the mask rule: the threshold (threshold/flip) or the kept fraction (topk).'),
  prune_progressive: bool('Move k linearly over the epochs (from prune_k_start for topk, from 0 for threshold).'),
  prune_k_start: num('Start value of k with prune_progressive and topk.'),
  prune_unit: z.enum(['epoch']).describe("Unit of the progressive k schedule (only 'epoch')."),
  module: z.enum(['classifier', 'swav']).describe("Training module: 'classifier' (supervised, CE loss) or 'swav' (self-supervised masking, docs/method.md#swav)."),
  shell_mode: z.enum(['copy', 'replace']).describe("How masked weights are written into the network: 'replace' (paper runs) or 'copy'."),
});

export const clipSchema = z.strictObject({
  code: str("Unused by the 'pret' path (reference's broken 'clip' model path)."),
  submask: bool("Unused by the 'pret' path."),
  submask_scale: bool("Unused by the 'pret' path."),
  submask_backbone: bool("Unused by the 'pret' path."),
  submask_head: bool("Unused by the 'pret' path."),
  freeze_backbone: bool('Freeze the CLIP backbone (the only model.clip key the pret path reads).'),
  scores_init: str("Unused by the 'pret' path."),
  module: str("Unused by the 'pret' path."),
});

export const timmSchema = z.strictObject({
  name: str("Unused: the reference's broken main.model=timm path (use model.pret.source=timm)."),
  submask_scale: bool('Unused (broken timm path).'),
  submask_head: bool('Unused (broken timm path).'),
  submask_backbone: bool('Unused (broken timm path).'),
  freeze_backbone: bool('Unused (broken timm path).'),
  pretrained: bool('Unused (broken timm path).'),
  init_scores_mean: num('Unused (broken timm path).'),
  init_scores_std: num('Unused (broken timm path).'),
  prune_criterion: z.enum(PRUNE).describe('Unused (broken timm path).'),
  prune_k: num('Unused (broken timm path).'),
  prune_progressive: bool('Unused (broken timm path).'),
  prune_unit: z.enum(['epoch']).describe('Unused (broken timm path).'),
});

export const reproSchema = z.strictObject({
  name: str("Unused: the reference's broken main.model=repro path."),
  submask: bool('Unused (broken repro path).'),
  scale: bool('Unused (broken repro path).'),
});

export const dlSchema = z.strictObject({
  shuffle: bool('Shuffle the train set every epoch.'),
  batch_size: int('Batch size of training and evaluation.').positive(),
  epochs: int('Number of epochs E.').positive(),
  batch_accum: int('Accumulate gradients over this many batches before a step (Lightning accumulate_grad_batches).').positive(),
  optimizer: z
    .enum(['sgd', 'sgdc', 'adam', 'adamw'])
    .describe("'sgd': torch SGD, coupled L2 (g + wd·p); 'sgdc': the reference's ConstantWD_SGD (g + wd, a scalar); 'adam'/'adamw': torch Adam/AdamW with dl.betas, dl.eps."),
  lr: num('Learning rate of the backbone group (and the base of the head lr, see cls.head_lr).').nonnegative(),
  weight_decay: num('Weight decay of the backbone group (see dl.optimizer for how it is applied).'),
  betas: z.tuple([z.number(), z.number()]).describe('Adam/AdamW betas.'),
  eps: num('Adam/AdamW epsilon.').positive(),
  momentum: num('SGD momentum (dampening 0, no Nesterov).').nonnegative(),
  scheduler: z
    .enum(['none', 'cosine', 'cosine_warmup', 'cosine_cooldown', 'step'])
    .describe(
      "Per-epoch lr schedule, stepped as torch 1.13 does: 'cosine' (T_max = E, eta_min), 'cosine_warmup' (lr·e/W for e < W, so 0 in epoch 0, then cosine to 0), 'cosine_cooldown' (cosine over E − cooldown, then eta_min × lr), 'step' (× gamma every scheduler_step epochs), 'none'.",
    ),
  scheduler_step: int("Epochs between lr drops of the 'step' scheduler.").positive(),
  scheduler_gamma: num("Factor of each lr drop of the 'step' scheduler."),
  eta_min: num("Final lr of 'cosine'; for 'cosine_cooldown' the cosine's floor and the factor of the constant phase."),
  cooldown: int("Epochs of the constant phase of 'cosine_cooldown'.").nonnegative(),
  warmup_epochs: int("Warm-up epochs W of 'cosine_warmup'.").nonnegative(),
  analyze_train_every: int('Run the epoch-end analysis of the train split every N epochs.').positive(),
  analyze_val_every: int('Run the epoch-end analysis of the validation split every N epochs.').positive(),
  analyze_sample_size: int(
    "Train samples forwarded after each epoch's validation in train mode without gradients, as the reference's epoch-end sample step (docs/method.md#batchnorm-protocol): no weight changes, but the BatchNorm running statistics move (and a filling SwAV queue takes their embeddings). Drawn and augmented by main.seed and the epoch; 0 = off. main.update_bn=1 recomputes the statistics afterwards.",
  ).nonnegative(),
});

export const clsSchema = z.strictObject({
  loss: z.enum(['cross_entropy']).describe('Loss of the classifier module.'),
  fc: z
    .enum(HEAD_KINDS)
    .describe(
      "Head: 'linear' (trainable Linear with bias), 'masked' (random frozen weights, learned mask), 'mlp_masked', 'multihead', 'multihead_masked', 'probed' (logistic-regression probe), 'positive'/'negative'/'dual' (masked constant layer), 'pret' (CLIP text-embedding head), 'pret_submasked' (that head, masked), '' (no head).",
    ),
  fc_score_init: num('Initial score of masked heads (1.0: every head weight starts kept).'),
  mem_train_every_epoch: bool('Compute the kNN accuracy against the train-set memory bank every epoch, not only at test.'),
  knn_eval: bool('Evaluate kNN accuracy on validation/test embeddings.'),
  head_lr: num('Head learning rate: cls.head_lr × dl.lr when cls.head_scale_lr, else cls.head_lr as is.'),
  head_wd: num('Head weight decay: cls.head_wd × dl.weight_decay when cls.head_scale_wd, else cls.head_wd as is.'),
  head_scale_lr: bool('Multiply cls.head_lr by dl.lr.'),
  head_scale_wd: bool('Multiply cls.head_wd by dl.weight_decay.'),
  mlp_depth: int("Layers of the 'mlp_masked' head.").positive(),
  mlp_hidden_dim: int("Hidden width of the 'mlp_masked' head (−1 = the feature width)."),
  size_scale_wd: bool('Scale the weight decay by 50000 / (train-set size).'),
  multihead_heads: int("Heads of the 'multihead' heads.").positive(),
  knn_analysis: bool('Run the kNN analysis at all (0 in the low-shot probe jobs).'),
});

export const swavSchema = z.strictObject({
  nmb_crops: z.array(z.number().int().positive()).describe('Number of crops per resolution (2 global, 6 local).'),
  size_crops: z.array(z.number().int().positive()).describe('Crop sizes in pixels per resolution.'),
  min_scale_crops: z.array(z.number()).describe('Minimum RandomResizedCrop scale per resolution.'),
  max_scale_crops: z.array(z.number()).describe('Maximum RandomResizedCrop scale per resolution.'),
  nmb_prototypes: int('Number of prototypes K.').positive(),
  feat_dim: int('Projection (embedding) width.').positive(),
  queue_length: int('Queue length per assignment crop (0 = no queue; reduced to a multiple of the batch size).').nonnegative(),
  epoch_queue_starts: int('Epoch index from which the queue is filled and used.').nonnegative(),
  crops_for_assign: z.array(z.number().int().nonnegative()).describe('Crops whose codes are computed by Sinkhorn.'),
  temperature: num('Softmax temperature of the swapped prediction.').positive(),
  freeze_prototypes_niters: int('Prototype gradients are dropped for this many optimizer steps.').nonnegative(),
  epsilon: num('Sinkhorn entropy regularisation.').positive(),
  sinkhorn_iterations: int('Sinkhorn iterations.').positive(),
  fc: z.enum(['linear', 'masked']).describe("Projection head: a single Linear(features → feat_dim) ('linear') or its masked version."),
  prototypes: z.enum(['linear', 'masked']).describe("Prototypes: a Linear(feat_dim → K) without bias ('linear') or masked."),
});

export const lpSchema = z.strictObject({
  tol: num('Convergence tolerance of the probe solver.').positive(),
  max_iter: int('Maximum iterations of the probe solver.').positive(),
  lambda_scaled: num('L2 strength of the probe: λ = lambda_scaled / N (N = train samples), bias column included (docs/method.md#probe).').nonnegative(),
});

export const dataSchema = z.strictObject({
  resize: z
    .enum(['fast', 'pil'])
    .describe(
      "smn: how the data pipelines run their pixel steps: 'fast' fuses the steps after each resize into fewer passes, 'pil' runs them one by one as torchvision. Both resample and blur with PIL's arithmetic, so images, crop boxes, flips and jitter draws are the same bits on both (docs/experiments.md#data-pipelines-vs-torchvision).",
    ),
});

/** The whole resolved config. */
export const configSchema = z.strictObject({
  main: mainSchema,
  model: z.strictObject({ pret: pretSchema, clip: clipSchema, timm: timmSchema, repro: reproSchema }),
  dl: dlSchema,
  cls: clsSchema,
  swav: swavSchema,
  lp: lpSchema,
  data: dataSchema,
});

/** A resolved, validated config (the reference's `cfg`). */
export type SmnConfig = z.infer<typeof configSchema>;
