import { join } from 'node:path';
import { z } from 'zod';
import { ENSEMBLE_METHODS, type EnsembleMethod } from '@smn/cascade';
import type { Tree } from './compose.js';
import { resolveRunsWith, type ConfigProblem, type ResolvedConfig, type ResolveRunsOptions } from './resolve.js';
import type { ConfigSpec } from './spec.js';

// The config of cascade step 4 (`smn ensemble`, the reference's ensemble.py with conf_ensembling/*.yaml), read with
// the training config's grammar. As there, defaults live in a YAML file (the CLI ships ensembling.yaml), not here.

const int = (d: string) => z.number().int().describe(d);

/** The ensemble config's schema; descriptions feed `smn ensemble --help`. */
export const ensembleConfigSchema = z.strictObject({
  runs: z.array(z.string()).describe("run folders, dispatcher first, then the experts' embedding runs (each with embeddings/*.npy)"),
  run_ids: z.array(z.string()).describe('alternative to runs: ids resolved as <runs_dir>/<id>'),
  runs_dir: z.string().describe('folder of the run_ids'),
  cluster_ids: z.array(z.number().int().nonnegative()).describe('cluster served by each expert, in the order of runs[1:]'),
  clusters: z.string().nullable().describe("the clustering folder of 'smn cluster' (null: <runs[0]>/clusters)"),
  method: z.enum(ENSEMBLE_METHODS as readonly [EnsembleMethod, ...EnsembleMethod[]]).describe('how the models\' embeddings are combined'),
  linear_probe: z.boolean().describe('also fit the linear probe (λ = 0.01/N, L-BFGS) besides kNN'),
  baseline_index: int("model evaluated by 'baseline' (0 = dispatcher)").nonnegative(),
  pca_components: int("components of the pca_* methods (null: one model's embedding width)").positive().nullable(),
  pca_niter: int('randomized-PCA subspace iterations (ensemble.py: torch.pca_lowrank niter=10)').positive(),
  seed: int('seed of the randomized PCA'),
  num_classes: int('number of classes (null: max label + 1)').positive().nullable(),
  knn: z.strictObject({
    k: int('neighbours of the weighted kNN').positive(),
    temperature: z.number().positive().describe('temperature of the weighted kNN'),
  }),
  dispatcher: int("the reference's index of the dispatcher among the runs; only 0 (the reference asserts it)").optional(),
  dataset_subset: z
    .string()
    .nullable()
    .optional()
    .describe("the reference's subset of the ensemble's train features; not implemented in smn, so only '' or null"),
});

/** A resolved ensemble config (`runs` filled from `run_ids` when those are given). */
export type EnsembleConfig = z.infer<typeof ensembleConfigSchema>;

/** Keys of the reference's ensemble configs that mean nothing in smn → why. */
export const ENSEMBLE_IGNORED_KEYS: Readonly<Record<string, string>> = {
  lp: "the reference's linear-probe solver settings; smn's probe is fixed (λ = 0.01/N on weights and bias, L-BFGS to a duality gap of 1e-3)",
  subset_cluster: "not read by smn's ensembles",
};

/** The run folders a config names: `<runs_dir>/<id>` for each of `run_ids` when there are any, else `runs`. */
function runFolders(tree: Tree): unknown {
  const ids = tree.run_ids;
  if (Array.isArray(ids) && ids.length > 0) return ids.map((id) => join(typeof tree.runs_dir === 'string' ? tree.runs_dir : 'runs', String(id)));
  return tree.runs;
}

/** The rules the schema cannot state: experts and cluster ids match one to one; reference-only values. */
function ensembleProblems(tree: Tree): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const runs = runFolders(tree);
  if (Array.isArray(runs) && runs.length === 0) {
    problems.push({ path: 'runs', message: 'expected a non-empty list of run folders (dispatcher first), or run_ids' });
  }
  const ids = tree.cluster_ids;
  if (Array.isArray(ids) && Array.isArray(runs) && runs.length > 0 && ids.length !== runs.length - 1) {
    problems.push({
      path: 'cluster_ids',
      message: `${ids.length} ids for ${runs.length - 1} experts (runs after the dispatcher); they must match one to one`,
    });
  }
  if (tree.dispatcher !== undefined && tree.dispatcher !== 0) problems.push({ path: 'dispatcher', message: 'only 0 is supported (the reference asserts it)' });
  const subset = tree.dataset_subset;
  if (subset !== undefined && subset !== null && subset !== '') {
    problems.push({
      path: 'dataset_subset',
      message: `subsetting the ensemble's train features is not implemented in smn; remove it (found '${String(subset)}')`,
    });
  }
  return problems;
}

/**
 * The ensemble config: no shipped folder here (the CLI passes its own in `configDirs`), and `ensembling` (the
 * defaults) is composed under every config, as the reference's ensemble.py reads a config over its defaults.
 */
export const ENSEMBLE_CONFIG: ConfigSpec<EnsembleConfig> = {
  label: 'ensemble config',
  schema: ensembleConfigSchema,
  builtinDirs: [],
  defaults: 'ensembling',
  defaultsUnderEvery: true,
  ignoredKeys: ENSEMBLE_IGNORED_KEYS,
  aliases: {},
  check: ensembleProblems,
};

/**
 * The ensemble configs of a command line (one, or one per sweep combination with `multirun`), each validated with
 * every problem reported at once, as `resolveRuns` does for training; `runs` is filled from `run_ids`.
 * `configDirs` must hold a config named `ensembling` with every key (the CLI ships one).
 */
export function resolveEnsembleRuns(options: ResolveRunsOptions): ResolvedConfig<EnsembleConfig>[] {
  return resolveRunsWith(ENSEMBLE_CONFIG, options).map((r) => {
    const runs = runFolders(r.config as unknown as Tree) as string[];
    return { ...r, config: { ...r.config, runs } };
  });
}
