import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CoreErrorCode, SmnError, atomicWriteFile, fmtShape, parseNpy, writeNpy } from '@smn/core';
import { CLIP_NORM, IMAGENET_NORM, IMAGE_EXTENSIONS, centerCrop, decodeImage, normalize, resizeShorter } from '@smn/datasets';
import { loadClip, loadResNet, type ClipModel, type ResNetModel } from '@smn/models';
import type { Command } from '../command.js';
import { defineSpec, parseFlags, renderHelp, renderUsage, usageError } from '../flags.js';
import { startBackend } from '../shared.js';
import { CliErrorCode } from '../errors.js';

const MODELS = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'clip'] as const;

const SPEC = defineSpec({
  name: 'features',
  usage: [
    'smn features --model NAME --weights FILE_OR_DIR --input X.npy|DIR --output Y.npy',
    '             [--logits | --projected] [--batch-size N] [--no-strict]',
  ],
  description: 'Embeds images with a pretrained model and writes float32 [N, D] rows to Y.npy.',
  flags: {
    model: { type: 'string', value: 'NAME', choices: MODELS, description: MODELS.join(' | ') },
    weights: {
      type: 'string',
      value: 'PATH',
      description: `ResNet: .safetensors or PyTorch .pth/.pt/.pth.tar (torchvision/timm names; nested state
dicts and "module." prefixes are handled). CLIP: a Hugging Face folder (config.json +
model.safetensors)`,
    },
    input: {
      type: 'string',
      value: 'PATH',
      description: `X.npy: float32 [N, 3, H, W] (PyTorch layout, already normalised), or a folder of images
(${IMAGE_EXTENSIONS.join(' ')}), preprocessed as the model expects: ResNet resize 256,
center crop 224, ImageNet mean/std; CLIP resize to the image size (bicubic), center crop, CLIP mean/std.
Rows follow the sorted file names, which are also written to Y.files.txt.`,
    },
    output: { type: 'string', value: 'Y.npy', description: 'output file (written atomically)' },
    logits: { type: 'boolean', description: 'ResNet: the fc logits instead of the pooled features (needs an fc in the weights)' },
    projected: { type: 'boolean', description: 'CLIP: the projected image embedding instead of the pooled output' },
    'batch-size': { type: 'number', value: 'N', integer: true, min: 1, default: 32, description: 'images per forward pass' },
    'no-strict': {
      type: 'boolean',
      description: `ignore unknown tensors inside the model's layers (heads outside the backbone, such as
SwAV's projection_head, are always skipped)`,
    },
  },
  sections: [
    { title: 'Output', text: '  pooled features by default (512 for resnet18/34, 2048 for resnet50/101, 768 for CLIP ViT-B/32).' },
    { title: 'Example', text: '  smn features --model resnet50 --weights resnet50.pth --input x.npy --output feats.npy --batch-size 16' },
  ],
});

/** Input images as NCHW float32 rows, read lazily per batch. */
interface Source {
  n: number;
  /** NHWC float32 batch [b, H, W, 3] of images start..start+b. */
  batch(start: number, count: number): Promise<tf.Tensor4D>;
  files?: string[];
}

async function npySource(path: string): Promise<Source> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new SmnError(CoreErrorCode.FileNotFound, `cannot read ${path}: ${(err as Error).message}`, { cause: err, details: { file: path } });
  }
  // A plain Uint8Array view (not a Buffer) so that parseNpy's slice copies into an aligned buffer.
  const arr = parseNpy(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
  if (arr.shape.length !== 4 || arr.shape[1] !== 3) {
    throw new SmnError(CliErrorCode.FeaturesInput, `${path}: expected a float32 array [N, 3, H, W] (NCHW, normalised), found ${arr.dtype} ${fmtShape(arr.shape)}`, {
      kind: 'usage',
      details: { file: path, found: arr.shape },
    });
  }
  if (arr.dtype !== 'float32' && arr.dtype !== 'float64') {
    throw new SmnError(CliErrorCode.FeaturesInput, `${path}: expected float32 pixels, found ${arr.dtype}`, { kind: 'usage', details: { file: path } });
  }
  const [n, , h, w] = arr.shape as [number, number, number, number];
  const data = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data as Float64Array);
  const per = 3 * h * w;
  return {
    n,
    async batch(start, count) {
      return tf.tidy(() => tf.transpose(tf.tensor4d(data.subarray(start * per, (start + count) * per), [count, 3, h, w]), [0, 2, 3, 1]));
    },
  };
}

async function dirSource(dir: string, model: string, imageSize: number): Promise<Source> {
  const files = (await readdir(dir)).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort();
  if (!files.length) {
    throw new SmnError(CliErrorCode.FeaturesInput, `${dir}: no images found (expected ${IMAGE_EXTENSIONS.join(' ')} files)`, { kind: 'usage', details: { file: dir } });
  }
  const clip = model === 'clip';
  const size = clip ? imageSize : 224;
  return {
    n: files.length,
    files,
    async batch(start, count) {
      const out = new Float32Array(count * size * size * 3);
      for (let i = 0; i < count; i++) {
        const img = await decodeImage(join(dir, files[start + i]!));
        const r = clip ? resizeShorter(img, size, 'bicubic') : resizeShorter(img, 256, 'bilinear');
        normalize(centerCrop(r, size), clip ? CLIP_NORM : IMAGENET_NORM, out, i * size * size * 3);
      }
      return tf.tensor4d(out, [count, size, size, 3]);
    },
  };
}

const command: Command = {
  name: 'features',
  summary: 'embed images or an .npy batch with a pretrained model',
  help: renderHelp(SPEC),
  usage: renderUsage(SPEC),
  async run(ctx) {
    const v = parseFlags(SPEC, ctx.argv).flags;
    const name = v.model;
    if (!name) throw usageError(`--model NAME is required: ${MODELS.join(', ')}`);
    if (!v.weights) throw usageError('--weights is required');
    if (!v.input) throw usageError('--input is required');
    if (!v.output) throw usageError('--output is required');
    if (v.logits && name === 'clip') throw usageError('--logits applies to ResNets; use --projected for CLIP');
    if (v.projected && name !== 'clip') throw usageError('--projected applies to CLIP; use --logits for ResNets');
    const bs = v['batch-size'];
    const strict = !v['no-strict'];

    await startBackend(ctx, 'features', `loading ${name} from ${v.weights}`);
    let model: ResNetModel | ClipModel;
    if (name === 'clip') {
      model = await loadClip(v.weights, { strict });
      model.output = v.projected ? 'projected' : 'pooled';
    } else {
      const depth = Number(name.slice('resnet'.length)) as 18 | 34 | 50 | 101;
      model = await loadResNet(v.weights, { depth, strict });
      if (v.logits && !model.config.numClasses) {
        model.dispose();
        throw new SmnError(CliErrorCode.FeaturesNoHead, `${v.weights} has no fc tensors, so --logits cannot be computed; drop --logits for pooled features`, {
          kind: 'usage',
        });
      }
      model.output = v.logits ? 'logits' : 'features';
    }
    try {
      let isDir = false;
      try {
        isDir = (await stat(v.input)).isDirectory();
      } catch (err) {
        throw new SmnError(CoreErrorCode.FileNotFound, `cannot read ${v.input}: ${(err as Error).message}`, { cause: err, details: { file: v.input } });
      }
      const src = isDir ? await dirSource(v.input, name, model.kind === 'clip' ? model.config.vision.imageSize : 224) : await npySource(v.input);
      let out: Float32Array | undefined;
      let dim = 0;
      const t0 = Date.now();
      for (let start = 0; start < src.n; start += bs) {
        const count = Math.min(bs, src.n - start);
        const x = await src.batch(start, count);
        let y: tf.Tensor;
        try {
          y = model.apply(model.params, x);
        } finally {
          x.dispose();
        }
        const data = (await y.data()) as Float32Array;
        dim = y.shape[1]!;
        y.dispose();
        out ??= new Float32Array(src.n * dim);
        out.set(data, start * dim);
        if (src.n > bs) {
          const done = start + count;
          ctx.err.write(`features: ${done}/${src.n} images (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
        }
      }
      await writeNpy(v.output, { shape: [src.n, dim], dtype: 'float32', data: out! });
      if (src.files) {
        const list = v.output.replace(/\.npy$/, '') + '.files.txt';
        await atomicWriteFile(list, src.files.join('\n') + '\n');
      }
      ctx.err.write(`features: wrote ${v.output} [${src.n}, ${dim}]\n`);
      return 0;
    } finally {
      model.dispose();
    }
  },
};
export default command;
