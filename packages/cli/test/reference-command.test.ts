// The README's reference-style command, typed as the reference's users type it (no model.pret.weights, no dataset on
// disk), run by the real CLI against an HTTP server on 127.0.0.1 that serves the registry's paths (SMN_MIRROR): SwAV's
// ResNet-50 checkpoint and the CIFAR-100 archive are fetched, verified, unpacked and trained on.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@smn/backend';
import { createResNet, resnetStateDict } from '@smn/models';
import { readRunMetrics, readRunSummary } from '@smn/train';
import { startServer, type TestServer } from '../../hub/test/_server.js';
import { swavCheckpoint } from '../../train/test/_torch-save.js';
import { runCliProcess } from './_cli.js';

const CIFAR100 = fileURLToPath(new URL('../../datasets/test/fixtures/cifar-100-python', import.meta.url));
const SWAV_PATH = '/deepcluster/swav_800ep_pretrain.pth.tar';
const CIFAR_PATH = '/~kriz/cifar-100-python.tar.gz';

let server: TestServer;
let work: string;

const smn = (args: string[], env: Record<string, string>) => runCliProcess(args, { env });

beforeAll(async () => {
  await useBackend('cpu');
  work = await mkdtemp(join(tmpdir(), 'smn-reference-'));
  // A narrow ResNet-50 (width 4) in SwAV's layout: the backbone under state_dict with DataParallel's module. prefix.
  const model = createResNet({ depth: 50, width: 4, numClasses: 0, seed: 7 });
  const swav = swavCheckpoint(resnetStateDict(model));
  model.dispose();
  // The CIFAR-100 python archive as torchvision downloads it, made from the reader's fixture (a few images).
  const archive = join(work, 'cifar-100-python.tar.gz');
  execFileSync('tar', ['czf', archive, '-C', join(CIFAR100, '..'), 'cifar-100-python']);
  const tgz = new Uint8Array(await readFile(archive));
  server = await startServer({ [SWAV_PATH]: { body: swav }, [CIFAR_PATH]: { body: tgz } });
  // The shipped registry pins the real archive's md5; this registry entry pins the test archive's, same name and URL.
  const registry = JSON.parse(await readFile(fileURLToPath(new URL('../../hub/assets/registry.json', import.meta.url)), 'utf8'));
  const entry = registry.entries.cifar100;
  entry.files[0].checksum = { algo: 'md5', value: createHash('md5').update(tgz).digest('hex'), source: 'test archive' };
  entry.files[0].size = tgz.length;
  await writeFile(join(work, 'registry.json'), JSON.stringify({ version: 1, entries: { cifar100: entry } }));
}, 300_000);
afterAll(() => server?.close());

describe("the README's reference command through a mirror", () => {
  it('fetches SwAV ResNet-50 and CIFAR-100 on first use and trains; a second run fetches nothing', { timeout: 900_000 }, async () => {
    const env = {
      SMN_CACHE: join(work, 'cache'),
      SMN_MIRROR: server.base,
      SMN_REGISTRY: join(work, 'registry.json'),
      SMN_BACKEND: 'cpu',
    };
    // README: pnpm smn train --config-name submask main.dataset=cifar100 model.pret.source=hub model.pret.name=resnet50
    // main.dataset_subset=10p; here 40p of the fixture's 5 train images, one epoch, the test's data root.
    const args = (runDir: string) => [
      'train', '--config-name', 'submask', 'main.dataset=cifar100', 'model.pret.source=hub', 'model.pret.name=resnet50',
      'main.dataset_subset=40p', 'dl.epochs=1', 'dl.scheduler=cosine', 'dl.batch_size=8', `main.data_root=${join(work, 'data')}`, '--run-dir', runDir,
    ];
    const first = await smn(args(join(work, 'run1')), env);
    expect(first.code, first.err).toBe(0);
    const fetchedPaths = server.log.filter((l) => l.status === 200).map((l) => l.path).sort();
    expect(fetchedPaths).toEqual([SWAV_PATH, CIFAR_PATH].sort());
    expect(existsSync(join(work, 'data', 'cifar100', 'cifar-100-python', 'train'))).toBe(true);
    const metrics = await readRunMetrics(join(work, 'run1'));
    expect(metrics.some((m) => m.epoch === 0)).toBe(true);
    const summary = await readRunSummary(join(work, 'run1'));
    expect(summary.maskedWeights).toBeGreaterThan(0);

    const before = server.log.length;
    const second = await smn(args(join(work, 'run2')), { ...env, SMN_OFFLINE: '1' });
    expect(second.code, second.err).toBe(0);
    expect(server.log.length).toBe(before);
  });
});
