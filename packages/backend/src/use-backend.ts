import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import { BACKEND_NAMES, SmnError, docsUrl } from '@smn/core';
import { tf } from './tf.js';
import type { BackendChoice, BackendName, ConcreteBackendName, SkippedBackend, UseBackendOptions } from './types.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';
import { disableLeanBackprop, enableLeanBackprop } from './lean-backprop.js';
import { BackendErrorCode } from './errors.js';

/** The order `auto` tries. */
export const AUTO_ORDER: readonly ConcreteBackendName[] = ['torch', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/**
 * The optional packages behind each backend, with the versions smn is tested with. None of them is installed with
 * `@smn/backend`: Dawn alone is 132 MB, and tfjs-node downloads libtensorflow at install. They are found at run time.
 */
export const OPTIONAL_BACKEND_PACKAGES: Record<'torch' | 'tensorflow' | 'webgpu', readonly string[]> = {
  torch: ['@smn/backend-torch'],
  tensorflow: [`@tensorflow/tfjs-node-gpu@${tf.version_core}`, `@tensorflow/tfjs-node@${tf.version_core}`],
  webgpu: ['webgpu@0.6.2', `@tensorflow/tfjs-backend-webgpu@${tf.version_core}`],
};

/** How to get each optional backend; appended to SMN_BACKEND_UNAVAILABLE messages. */
export const BACKEND_HINTS: Record<ConcreteBackendName, string> = {
  torch:
    'install libtorch (Debian/Ubuntu: `apt-get install libtorch-dev`, or point LIBTORCH_PY at the Python of a PyTorch ' +
    'wheel for CUDA), then `npm install @smn/backend-torch` or, if it is installed, `npm rebuild @smn/backend-torch` ' +
    `(pnpm: \`pnpm rebuild @smn/backend-torch\`); see ${docsUrl('backends.md')}`,
  tensorflow:
    `\`npm install ${OPTIONAL_BACKEND_PACKAGES.tensorflow[0]}\` (NVIDIA, needs CUDA 11.2 + cuDNN 8.1: it binds ` +
    `libtensorflow 2.9) or \`npm install ${OPTIONAL_BACKEND_PACKAGES.tensorflow[1]}\` (CPU); their install script ` +
    'downloads libtensorflow, so it needs internet. Installed but not built: `npm rebuild @tensorflow/tfjs-node-gpu`, ' +
    'or with pnpm allow its build in `allowBuilds` and run `pnpm rebuild @tensorflow/tfjs-node-gpu` ' +
    `(see ${docsUrl('backends.md')})`,
  webgpu:
    `\`npm install ${OPTIONAL_BACKEND_PACKAGES.webgpu.join(' ')}\` (Dawn), and a GPU adapter: an NVIDIA/AMD/Intel ` +
    'driver with Vulkan (libvulkan1 and the vendor ICD), or software Vulkan (Mesa >= 23 lavapipe) for testing',
  wasm: '@tensorflow/tfjs-backend-wasm is a dependency of @smn/backend and should always load; reinstall @smn/backend',
  cpu: '@tensorflow/tfjs-backend-cpu is a dependency of @smn/backend and should always load; reinstall @smn/backend',
};

/** True when an import failed because the package is not installed (not because it failed to load). */
function isNotInstalled(e: unknown, pkg: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && errText(e).includes(pkg);
}

type Outcome = { ok: true; device?: string } | { ok: false; reason: string };

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

let current: BackendChoice | null = null;
let currentRequest: BackendName | null = null;

/**
 * Runs `fn` with tfjs's "kernel ... is already registered" warnings muted: a failed tfjs-node import registers its
 * kernels before the missing binding throws, and a second attempt would repeat ~170 warnings.
 */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...a: unknown[]) => {
    if (typeof a[0] === 'string' && a[0].includes('is already registered')) return;
    warn(...a);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

// ---- torch ------------------------------------------------------------------------------------------------------

interface TorchModule {
  registerTorchBackend?: (opts?: { device?: 'cpu' | 'cuda' }) => Promise<{ device: string }>;
}
let torchDevice: string | null = null;

async function activateTorch(opts: UseBackendOptions): Promise<Outcome> {
  if (torchDevice === null || (opts.device !== undefined && !torchDevice.startsWith(opts.device))) {
    let mod: TorchModule;
    try {
      mod = (await import('@smn/backend-torch')) as unknown as TorchModule;
    } catch (e) {
      if (isNotInstalled(e, '@smn/backend-torch')) {
        return { ok: false, reason: `@smn/backend-torch is not installed (\`npm install ${OPTIONAL_BACKEND_PACKAGES.torch[0]}\`)` };
      }
      return { ok: false, reason: `@smn/backend-torch could not be loaded: ${errText(e)}` };
    }
    if (typeof mod.registerTorchBackend !== 'function') {
      return { ok: false, reason: '@smn/backend-torch has no registerTorchBackend (package not built)' };
    }
    try {
      const r = await mod.registerTorchBackend(opts.device === undefined ? {} : { device: opts.device });
      torchDevice = r.device;
    } catch (e) {
      return { ok: false, reason: `libtorch addon not available: ${errText(e)}` };
    }
  }
  if (!(await tf.setBackend('torch'))) {
    return { ok: false, reason: "registerTorchBackend succeeded but tfjs could not initialise backend 'torch'" };
  }
  return { ok: true, device: torchDevice };
}

// ---- tensorflow (tfjs-node-gpu, tfjs-node) ------------------------------------------------------------------------

const TF_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
let tensorflowProbe: Outcome | null = null;

async function activateTensorflow(): Promise<Outcome> {
  if (tensorflowProbe === null) {
    const reasons: string[] = [];
    for (const pkg of TF_NODE_PACKAGES) {
      try {
        // A variable specifier: typechecking must not depend on these optional packages being installed.
        const spec: string = pkg;
        await quietly(() => import(spec));
        tensorflowProbe = { ok: true, device: pkg.endsWith('-gpu') ? 'cuda (tfjs-node-gpu)' : 'cpu (tfjs-node)' };
        break;
      } catch (e) {
        const msg = errText(e);
        const why = isNotInstalled(e, pkg)
          ? 'not installed'
          : /tfjs_binding\.node\)? can not be found/.test(msg)
            ? 'installed, but its native binding (tfjs_binding.node) was not built'
            : msg;
        reasons.push(`${pkg}: ${why}`);
      }
    }
    tensorflowProbe ??= { ok: false, reason: reasons.join('; ') };
  }
  if (!tensorflowProbe.ok) return tensorflowProbe;
  if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: "tfjs could not initialise backend 'tensorflow'" };
  return tensorflowProbe;
}

// ---- webgpu (Dawn) -------------------------------------------------------------------------------------------------

interface WebgpuState {
  device: string;
  globalKeys: string[];
  prevNavigator: PropertyDescriptor | undefined;
}
type BackendFactory = { factory: () => tf.KernelBackend | Promise<tf.KernelBackend>; priority: number };
let webgpu: WebgpuState | null = null;
let webgpuProbe: Outcome | null = null;
let webgpuModuleLoaded = false;
/** Kept so `useBackend('webgpu')` works again after `releaseBackend()` removed the backend. */
let webgpuFactory: BackendFactory | null = null;

const TFJS_WEBGPU: string = '@tensorflow/tfjs-backend-webgpu';

type GpuLike = { requestAdapter(): Promise<{ info?: { description?: string; vendor?: string; device?: string } } | null> };

async function activateWebgpu(): Promise<Outcome> {
  if (webgpu === null) {
    if (webgpuProbe !== null && !webgpuProbe.ok) return webgpuProbe;
    let mod: { create(flags: string[]): unknown; globals: Record<string, unknown> };
    try {
      // Variable specifiers: typechecking and bundling must not depend on these optional packages being installed.
      const dawn: string = 'webgpu';
      mod = (await import(dawn)) as typeof mod;
      import.meta.resolve(TFJS_WEBGPU);
    } catch (e) {
      const missing = isNotInstalled(e, 'webgpu');
      return (webgpuProbe = {
        ok: false,
        reason: missing
          ? `webgpu needs two optional packages, not installed here (\`npm install ${OPTIONAL_BACKEND_PACKAGES.webgpu.join(' ')}\`)`
          : `the 'webgpu' package (Dawn) could not be loaded: ${errText(e)}`,
      });
    }
    const gpu = mod.create([]) as GpuLike;
    let adapter: Awaited<ReturnType<GpuLike['requestAdapter']>>;
    try {
      adapter = await gpu.requestAdapter();
    } catch (e) {
      return (webgpuProbe = { ok: false, reason: `requesting a WebGPU adapter failed: ${errText(e)}` });
    }
    if (adapter === null) {
      return (webgpuProbe = {
        ok: false,
        reason: 'no WebGPU adapter: Dawn found no usable Vulkan/Metal/D3D12 device',
      });
    }
    const info = adapter.info ?? {};
    const device = info.description || [info.vendor, info.device].filter((s) => s !== undefined && s !== '').join(' ') || 'gpu';
    const globalKeys = Object.keys(mod.globals).filter((k) => !(k in globalThis));
    const prevNavigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    for (const k of globalKeys) (globalThis as Record<string, unknown>)[k] = mod.globals[k];
    // tfjs-backend-webgpu registers itself at import time only when navigator.gpu exists, so it is imported after.
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    webgpu = { device, globalKeys, prevNavigator };
    if (!webgpuModuleLoaded) {
      await import(TFJS_WEBGPU);
      webgpuModuleLoaded = true;
      const reg = (tf.engine() as unknown as { registryFactory: Record<string, BackendFactory | undefined> }).registryFactory;
      webgpuFactory = reg['webgpu'] ?? null;
    } else if (webgpuFactory !== null && tf.findBackendFactory('webgpu') === null) {
      tf.registerBackend('webgpu', webgpuFactory.factory, webgpuFactory.priority);
    }
  }
  let ok = false;
  try {
    ok = await quietly(() => tf.setBackend('webgpu'));
  } catch (e) {
    releaseBackend();
    return (webgpuProbe = { ok: false, reason: `tfjs could not initialise webgpu: ${errText(e)}` });
  }
  if (!ok) {
    releaseBackend();
    return (webgpuProbe = { ok: false, reason: "tf.setBackend('webgpu') returned false (no adapter for tfjs)" });
  }
  return { ok: true, device: webgpu?.device ?? 'gpu' };
}

/**
 * Undoes what `useBackend('webgpu')` put on `globalThis` (`navigator`, the `GPU*` globals) and disposes the tfjs
 * webgpu backend, so that a Node process can exit (Dawn keeps it alive while `navigator.gpu` is referenced).
 * Switches tfjs to `cpu` if webgpu was active. Read or dispose webgpu tensors before: their GPU buffers go with it.
 * Safe to call when webgpu was never used; `useBackend('webgpu')` works again afterwards.
 */
export function releaseBackend(): void {
  if (webgpu === null) return;
  const wasActive = tf.getBackend() === 'webgpu';
  if (tf.findBackend('webgpu') !== null || tf.findBackendFactory('webgpu') !== null) {
    try {
      tf.removeBackend('webgpu');
    } catch {
      // the backend failed to initialise: nothing to dispose
    }
  }
  const g = globalThis as Record<string, unknown>;
  for (const k of webgpu.globalKeys) delete g[k];
  if (webgpu.prevNavigator === undefined) delete g['navigator'];
  else Object.defineProperty(globalThis, 'navigator', webgpu.prevNavigator);
  webgpu = null;
  if (current?.name === 'webgpu') {
    current = null;
    currentRequest = null;
  }
  // cpu initialises synchronously, so this completes before returning.
  if (wasActive) void tf.setBackend('cpu');
}

// ---- wasm ----------------------------------------------------------------------------------------------------------

let wasmLoaded = false;

async function activateWasm(): Promise<Outcome> {
  if (!wasmLoaded) {
    try {
      const mod = (await import('@tensorflow/tfjs-backend-wasm')) as { setWasmPaths(prefix: string): void };
      const distDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + sep;
      mod.setWasmPaths(distDir);
      registerWasmTrainingKernels();
      wasmLoaded = true;
    } catch (e) {
      return { ok: false, reason: `@tensorflow/tfjs-backend-wasm could not be loaded: ${errText(e)}` };
    }
  }
  if (!(await tf.setBackend('wasm'))) return { ok: false, reason: "tfjs could not initialise backend 'wasm'" };
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { ok: true, device: simd ? 'wasm simd' : 'wasm' };
}

// ---- cpu -----------------------------------------------------------------------------------------------------------

async function activateCpu(): Promise<Outcome> {
  if (!(await tf.setBackend('cpu'))) return { ok: false, reason: "tfjs could not initialise backend 'cpu'" };
  return { ok: true, device: 'cpu (js)' };
}

function activate(name: ConcreteBackendName, opts: UseBackendOptions): Promise<Outcome> {
  switch (name) {
    case 'torch':
      return activateTorch(opts);
    case 'tensorflow':
      return activateTensorflow();
    case 'webgpu':
      return activateWebgpu();
    case 'wasm':
      return activateWasm();
    case 'cpu':
      return activateCpu();
  }
}

function defaultName(): BackendName {
  const env = process.env['SMN_BACKEND'];
  if (env === undefined || env === '') return 'auto';
  if (!(BACKEND_NAMES as readonly string[]).includes(env)) {
    throw new SmnError(
      BackendErrorCode.Unknown,
      `environment variable SMN_BACKEND is '${env}'; expected one of ${BACKEND_NAMES.join(', ')}`,
      { kind: 'usage', details: { env: 'SMN_BACKEND', found: env, expected: BACKEND_NAMES } },
    );
  }
  return env as BackendName;
}

/**
 * Selects and initialises the tfjs backend smn computes on, and returns what it chose.
 *
 * `auto` tries `torch` → `tensorflow` → `webgpu` → `wasm` → `cpu` and lists why each earlier one was skipped.
 * An explicit name that cannot be used throws `SmnError` `SMN_BACKEND_UNAVAILABLE` saying why and how to get it.
 * The default is `process.env.SMN_BACKEND`, else `auto`. Calling it again with the same name is cheap; switching works
 * (tfjs moves existing tensors to the new backend on first use). Also registers all tfjs gradients.
 *
 * @example
 * const { name, skipped } = await useBackend('auto');
 * console.log(`backend ${name}`, skipped.map((s) => `${s.name}: ${s.reason}`));
 */
export async function useBackend(name?: BackendName, opts: UseBackendOptions = {}): Promise<BackendChoice> {
  const requested = name ?? defaultName();
  if (!(BACKEND_NAMES as readonly string[]).includes(requested)) {
    throw new SmnError(BackendErrorCode.Unknown, `unknown backend '${String(requested)}'; expected one of ${BACKEND_NAMES.join(', ')}`, {
      kind: 'usage',
      details: { found: requested, expected: BACKEND_NAMES },
    });
  }
  applyLeanBackprop(opts);
  if (
    current !== null &&
    (requested === currentRequest || requested === current.name) &&
    opts.device === undefined &&
    tf.getBackend() === current.name
  ) {
    return { ...current, skipped: requested === 'auto' ? [...current.skipped] : [] };
  }

  const candidates = requested === 'auto' ? AUTO_ORDER : [requested];
  const skipped: SkippedBackend[] = [];
  for (const cand of candidates) {
    const out = await activate(cand, opts);
    if (out.ok) {
      await tf.ready();
      current = { name: cand, skipped, ...(out.device === undefined ? {} : { device: out.device }) };
      currentRequest = requested;
      return { ...current, skipped: [...skipped] };
    }
    skipped.push({ name: cand, reason: out.reason });
  }
  if (requested === 'auto') {
    throw new SmnError(BackendErrorCode.Unavailable, `no backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
  }
  const c = requested as ConcreteBackendName;
  throw new SmnError(
    BackendErrorCode.Unavailable,
    `backend '${c}' is not available: ${skipped[0]?.reason ?? 'unknown reason'}. To get it: ${BACKEND_HINTS[c]}. ` +
      `Or choose another with --backend / SMN_BACKEND (auto, wasm, cpu always work).`,
    { kind: 'usage', details: { backend: c, reason: skipped[0]?.reason } },
  );
}

/** Lean backprop is on unless `opts.leanBackprop` is false or the environment sets `SMN_LEAN_BACKPROP=0`. */
function applyLeanBackprop(opts: UseBackendOptions): void {
  const off = opts.leanBackprop === false || (opts.leanBackprop === undefined && process.env['SMN_LEAN_BACKPROP'] === '0');
  if (off) disableLeanBackprop();
  else enableLeanBackprop();
}

/** The backend `useBackend` last chose, or null before the first call. */
export function currentBackend(): BackendChoice | null {
  return current === null ? null : { ...current, skipped: [...current.skipped] };
}
