// Plain `node node-check.mjs OUT.json` in the consumer project (no tsx, no loader): imports every @smn/* package
// from node_modules, runs the shared computations on the cpu backend, and adds Node's file round trips. The test
// reads OUT.json and checks it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const out = process.argv[2];
if (!out) throw new Error('usage: node node-check.mjs OUT.json');

// Every entry point of every installed @smn package: '.' and each subpath of its `exports` (but ./package.json).
const smnDir = join('node_modules', '@smn');
const ENTRIES = readdirSync(smnDir)
  .sort()
  .flatMap((dir) => {
    const { name, exports: map } = JSON.parse(readFileSync(join(smnDir, dir, 'package.json'), 'utf8'));
    const keys = typeof map === 'object' && map !== null && Object.keys(map).some((k) => k.startsWith('.')) ? Object.keys(map) : ['.'];
    return keys.filter((k) => k !== './package.json').map((k) => (k === '.' ? name : `${name}/${k.slice(2)}`));
  });
const exports = {};
const importErrors = {};
for (const name of ENTRIES) {
  try {
    exports[name] = Object.keys(await import(name)).sort();
  } catch (err) {
    importErrors[name] = String(err?.stack ?? err);
  }
}

const { useBackend, tf } = await import('@smn/backend');
const backend = await useBackend('cpu');
const { compute, inputs } = await import('./compute.mjs');
const results = await compute();

// Files: saveMasks/readMaskFile/loadMasks and writeSafetensors/readSafetensors write and read what encode* make.
const { saveMasks, readMaskFile, loadMasks, encodeMasks } = await import('@smn/subnetworks');
const { writeSafetensors, readSafetensors, encodeSafetensors } = await import('@smn/models');
const dir = mkdtempSync(join(tmpdir(), 'smn-consumer-'));
const inp = inputs();
const maskPath = join(dir, 'masks.smnmask');
const saved = await saveMasks(maskPath, inp.masks, { mode: 'threshold', k: 0 });
const onDisk = readFileSync(maskPath);
const expectedBytes = (await encodeMasks(inp.masks, { mode: 'threshold', k: 0 })).bytes;
const read = await readMaskFile(maskPath);
const loaded = await loadMasks(maskPath);
const loadedValues = Object.fromEntries(await Promise.all([...loaded].map(async ([n, t]) => [n, { shape: t.shape, values: Array.from(await t.data()) }])));
tf.dispose([...loaded.values()]);
const stPath = join(dir, 'weights.safetensors');
await writeSafetensors(stPath, inp.tensors, inp.metadata);
const stOnDisk = readFileSync(stPath);
const stRead = await readSafetensors(stPath);
rmSync(dir, { recursive: true, force: true });

const torch = await import('@smn/backend-torch');
writeFileSync(
  out,
  JSON.stringify({
    node: process.version,
    backend,
    exports,
    importErrors,
    results,
    files: {
      smnmask: {
        bytesReported: saved.bytes,
        bytesOnDisk: onDisk.length,
        sameAsEncode: Buffer.compare(onDisk, Buffer.from(expectedBytes)) === 0,
        readNames: [...read.masks.keys()],
        readValues: Object.fromEntries([...read.masks].map(([n, m]) => [n, Array.from(m.values)])),
        loadedValues,
      },
      safetensors: {
        sameAsEncode: Buffer.compare(stOnDisk, Buffer.from(encodeSafetensors(inp.tensors, inp.metadata))) === 0,
        names: [...stRead.keys()].sort(),
        weight: Array.from(stRead.get('layer.weight').data),
      },
    },
    torch: { available: torch.isTorchAvailable(), reason: torch.torchUnavailableReason() },
  }),
);
