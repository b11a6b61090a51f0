// A strict TypeScript consumer of the published .d.ts files (module/moduleResolution nodenext, strict; see checkTypes
// in test/consumer.ts for skipLibCheck). The test compiles it as is (must pass) and without the @ts-expect-error line
// (must fail at that call).
import { SmnError, createRng, isSmnError, type Rng } from '@smn/core';
import { useBackend, tf, type BackendChoice } from '@smn/backend';
import { isTorchAvailable } from '@smn/backend-torch';
import { loadDataset, type ImageDataset } from '@smn/datasets';
import { decodeMasks, encodeMasks, type MaskData, type SmnmaskHeader } from '@smn/subnetworks';
import { encodeSafetensors, parseSafetensors, type RawTensor } from '@smn/models';
import { knnPredict, type KnnResult } from '@smn/knn';
import { sinkhorn } from '@smn/swav';
import { pcaWhiten } from '@smn/cascade';
import { runExperiment } from '@smn/train';
import { composeConfig } from '@smn/train/config';
import { lrAt } from '@smn/train/optim';
import { main, version } from '@smn/cli';

const choice: BackendChoice = await useBackend('cpu');
const rng: Rng = createRng(1);
const torch: boolean = isTorchAvailable();

const masks = new Map<string, MaskData>([['w', { shape: [2, 2], values: Uint8Array.from([1, 0, 0, 1]) }]]);
const { bytes, header }: { bytes: Uint8Array; header: SmnmaskHeader } = await encodeMasks(masks, { mode: 'threshold', k: 0 });
const back: Map<string, MaskData> = decodeMasks(bytes).masks;

const tensors = new Map<string, Pick<RawTensor, 'shape' | 'data'>>([['a', { shape: [2], data: Float32Array.from([1, 2]) }]]);
const parsed: Map<string, RawTensor> = parseSafetensors(encodeSafetensors(tensors)).tensors;

const bank = { data: Float32Array.from([1, 0, 0, 1]), shape: [2, 2] as const };
const result: KnnResult = await knnPredict(bank, bank, [0, 1], { k: 1 });
const predictions: Int32Array = result.predictions;

// @ts-expect-error knnPredict's k is a number of neighbours, not a string
await knnPredict(bank, bank, [0, 1], { k: 'one' });

const q: tf.Tensor2D = sinkhorn(tf.tensor2d([[0.1, 0.2], [0.3, 0.4]]), { epsilon: 0.05 });
const code: number = await main(['--version']);
const v: string = version();
const ds: Promise<ImageDataset> = loadDataset('embedded', { split: 'test' });
const err: boolean = isSmnError(new SmnError('SMN_X', 'x'));
console.log(choice, rng.next(), torch, header.encoding, back.size, parsed.size, predictions, q.shape, code, v, ds, err, pcaWhiten, runExperiment, composeConfig, lrAt);
