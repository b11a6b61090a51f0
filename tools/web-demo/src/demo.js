// The logic of the page, without the DOM: the tfjs backend, the shared base, tasks (mask + head + BatchNorm
// statistics) applied to it, and classification. The files are those `smn web export` writes (docs/web.md;
// packages/train/src/web-export.ts defines them).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadResNet, parseSafetensors } from '@smn/models';
import { applyMasks, decodeMasks, hashParams } from '@smn/subnetworks';

/** Backends in the order the page prefers them; `?backend=NAME` forces one. */
export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** `SwiftShader` or `llvmpipe` when WebGL runs on a software renderer, else null. */
function softwareWebgl() {
  try {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    const info = gl?.getExtension('WEBGL_debug_renderer_info');
    const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
    return /swiftshader|llvmpipe|software/i.exec(renderer)?.[0] ?? null;
  } catch {
    return null;
  }
}

async function tryBackend(name, forced) {
  try {
    if (name === 'webgpu') {
      if (!('gpu' in navigator)) return 'no navigator.gpu';
      if (!(await navigator.gpu.requestAdapter())) return 'no WebGPU adapter';
      await import('@tensorflow/tfjs-backend-webgpu');
    } else if (name === 'webgl') {
      // WebGL emulated on the CPU is many times slower than wasm (docs/web.md has the numbers): skipped unless asked for.
      const soft = forced ? null : softwareWebgl();
      if (soft) return `software renderer (${soft}), slower than wasm`;
      await import('@tensorflow/tfjs-backend-webgl');
    } else if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const [plain, simd, threaded] = await Promise.all([
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'),
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'),
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'),
      ]);
      wasm.setWasmPaths({ 'tfjs-backend-wasm.wasm': plain.default, 'tfjs-backend-wasm-simd.wasm': simd.default, 'tfjs-backend-wasm-threaded-simd.wasm': threaded.default });
    }
    if (!(await tf.setBackend(name))) return 'did not initialise';
    await tf.ready();
    // A backend that initialises may still fail on its first kernel (webgl without a usable context).
    tf.tidy(() => tf.add(tf.ones([2]), tf.ones([2])).dataSync());
    return null;
  } catch (err) {
    return String(err?.message ?? err);
  }
}

/** Picks the first backend that works (or `forced`); returns its name and why the others were skipped. */
export async function pickBackend(forced) {
  const skipped = [];
  for (const name of forced ? [forced] : BACKENDS) {
    const why = await tryBackend(name, Boolean(forced));
    if (why === null) return { name, skipped };
    skipped.push(`${name}: ${why}`);
  }
  throw new Error(`no tfjs backend works here (${skipped.join('; ')})`);
}

/** fetch → bytes, counted in `downloads` (file → bytes). */
async function fetchBytes(url, downloads) {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  downloads.set(url, bytes.length);
  return bytes;
}

/**
 * Normalises uint8 pixels (gray or RGB, HWC) to float32 RGB: `(v/255 − mean)/std` computed exactly as
 * @smn/datasets' normalize() (packages/datasets/src/transforms.ts), so the page's inputs equal Node's bit for bit.
 */
export function normalizePixels(px, channels, norm, out = new Float32Array((px.length / channels) * 3), offset = 0) {
  const a = norm.std.map((s) => 1 / (255 * s));
  const b = norm.mean.map((m, c) => -m / norm.std[c]);
  for (let p = 0, o = offset; p < px.length; p += channels, o += 3) {
    for (let c = 0; c < 3; c++) out[o + c] = px[p + (channels === 1 ? 0 : c)] * a[c] + b[c];
  }
  return out;
}

/**
 * A demo: the manifest, the base model on the chosen backend, the gallery, and the active task. `selectTask` downloads
 * a task's files once, checks them against the base, and only then swaps it in: a bad file leaves the current task.
 */
export async function createDemo({ root = './', backend } = {}) {
  const t0 = performance.now();
  const downloads = new Map();
  const chosen = await pickBackend(backend);
  const manifest = JSON.parse(new TextDecoder().decode(await fetchBytes(new URL('manifest.json', new URL(root, location.href)).href, downloads)));
  const url = (f) => new URL(f, new URL(root, location.href)).href;
  const baseBytes = await fetchBytes(url(manifest.base.file), downloads);
  const { tensors } = parseSafetensors(baseBytes, manifest.base.file);
  const model = await loadResNet(tensors, { numClasses: 0 });
  model.output = 'features';
  const baseBuffers = new Map([...model.buffers].filter(([, v]) => v.dtype === 'float32').map(([n, v]) => [n, v.dataSync().slice()]));
  let gallery = null;
  if (manifest.gallery) gallery = { ...manifest.gallery, pixels: await fetchBytes(url(manifest.gallery.file), downloads) };
  const loadMs = performance.now() - t0;

  const hashes = new Map();
  const baseHash = async (names) => {
    const key = names.join('\n');
    if (!hashes.has(key)) hashes.set(key, await hashParams(model.params, names));
    return hashes.get(key);
  };
  const cache = new Map(); // task id → decoded files
  let active = null; // { task, params, W, b }

  async function loadTask(task) {
    if (cache.has(task.id)) return cache.get(task.id);
    let masks = null;
    let header = null;
    if (task.masks) {
      const bytes = await fetchBytes(url(task.masks.file), downloads);
      // Names and shapes against the base, payload checksum, size: decodeMasks throws SmnErrors that say which.
      ({ header, masks } = decodeMasks(bytes, task.masks.file, { baseParams: model.params }));
      if (header.encoding !== 'binary') throw new Error(`${task.masks.file}: ${header.encoding} masks; the page applies 0/1 masks`);
      const names = header.tensors.map((t) => t.name);
      // The base hash ties the masks to these weights; a float16 base has other values than the float32 weights the
      // masks were learnt on, so there the manifest's hash (checked by smn web export) is what the header must give.
      const expected = manifest.base.dtype === 'float32' ? await baseHash(names) : task.masks.baseHash;
      if (header.baseHash !== null && header.baseHash !== expected) {
        throw new Error(`${task.masks.file}: these masks were made for other base weights (the file expects ${header.baseHash}, the base here hashes to ${expected})`);
      }
    }
    const head = parseSafetensors(await fetchBytes(url(task.head.file), downloads), task.head.file).tensors;
    const W = head.get('head.weight');
    const b = head.get('head.bias');
    const D = model.featureDim;
    const C = task.classes.length;
    if (!W || !b || W.shape.join() !== `${D},${C}` || b.shape.join() !== `${C}`) {
      throw new Error(`${task.head.file}: expected head.weight [${D}, ${C}] and head.bias [${C}], found ${W ? `[${W.shape}]` : 'none'} and ${b ? `[${b.shape}]` : 'none'}`);
    }
    const bn = new Map();
    for (const name of task.head.bnTensors) {
      const t = head.get(name);
      const v = model.buffers.get(name);
      if (!t || !v || t.data.length !== v.size) throw new Error(`${task.head.file}: BatchNorm statistics ${name} missing or of the wrong size`);
      bn.set(name, t.data);
    }
    const files = { masks, W: W.data, b: b.data, bn };
    cache.set(task.id, files);
    return files;
  }

  /** Downloads (once) and applies a task; returns the milliseconds of download + checks and of applying. Throws (leaving the current task) on a bad file. */
  async function selectTask(id) {
    const task = manifest.tasks.find((t) => t.id === id);
    if (!task) throw new Error(`no task ${id} in manifest.json`);
    const t0 = performance.now();
    const files = await loadTask(task);
    const t1 = performance.now();
    const params = files.masks ? applyMasks(model.params, files.masks, { scale: task.masks.scale }) : new Map([...model.params].map(([n, p]) => [n, tf.clone(p)]));
    const W = tf.tensor2d(files.W, [model.featureDim, task.classes.length]);
    const b = tf.tensor1d(files.b);
    for (const [name, v] of model.buffers) {
      const data = files.bn.get(name) ?? baseBuffers.get(name);
      if (data) v.assign(tf.tensor(data, v.shape));
    }
    // Wait for the effective weights to exist before saying how long applying took: a backend runs its programs in
    // order, so one value of the last tensor made is there once every one is (no readback of the whole weights).
    const last = [...params.values()].at(-1);
    const one = tf.tidy(() => tf.slice(tf.reshape(last, [-1]), 0, 1));
    await one.data();
    one.dispose();
    const t2 = performance.now();
    if (active) {
      for (const p of active.params.values()) p.dispose();
      active.W.dispose();
      active.b.dispose();
    }
    active = { task, params, W, b };
    return { loadMs: t1 - t0, applyMs: t2 - t1 };
  }

  /** Probabilities [N, C] of normalised images (float32 NHWC at the input size) with the active task. */
  async function probabilities(x, n) {
    if (!active) throw new Error('no task selected');
    const s = manifest.base.inputSize;
    const logits = tf.tidy(() => {
      const input = tf.tensor4d(x, [n, s, s, 3]);
      const f = model.apply(active.params, input, { training: false });
      return tf.add(tf.matMul(f, active.W), active.b);
    });
    const data = await logits.data();
    logits.dispose();
    return data;
  }

  /** Classifies gallery images [from, to): argmax per image and the logits. */
  async function classifyGallery(from = 0, to = gallery?.count ?? 0, batch = 100) {
    const s = manifest.base.inputSize;
    const per = s * s * gallery.channels;
    const C = active.task.classes.length;
    const predictions = [];
    const logits = new Float32Array((to - from) * C);
    for (let i = from; i < to; i += batch) {
      const n = Math.min(batch, to - i);
      const x = normalizePixels(gallery.pixels.subarray(i * per, (i + n) * per), gallery.channels, manifest.base.norm);
      const l = await probabilities(x, n);
      logits.set(l, (i - from) * C);
      for (let r = 0; r < n; r++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (l[r * C + c] > l[r * C + best]) best = c;
        predictions.push(best);
      }
    }
    return { predictions, logits };
  }

  return {
    manifest,
    backend: chosen,
    model,
    gallery,
    downloads,
    loadMs,
    selectTask,
    classifyGallery,
    probabilities,
    get active() {
      return active?.task ?? null;
    },
  };
}

/** Softmax of one row of logits, top `k` as [class index, probability]. */
export function topK(logits, k = 5) {
  const max = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const z = e.reduce((a, v) => a + v, 0);
  return e.map((v, i) => [i, v / z]).sort((a, b) => b[1] - a[1]).slice(0, k);
}
