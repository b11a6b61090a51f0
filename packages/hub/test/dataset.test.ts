import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDataset } from '@smn/datasets';
import { c as createTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryForDataset, fetchDataset, HubErrorCode } from '../src/index.js';
import { sha256, tempDir, writeRegistry } from './_helpers.js';
import { caughtAsync } from '../../core/test/_smn-error.js';
import { startServer, type TestServer } from './_server.js';

let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startServer();
  work = await tempDir('data');
});
afterAll(() => server.close());

/** CIFAR-10 binary batches: `count` records of <label byte><3072 pixel bytes>, labels i mod 10. */
function cifarBatch(count: number, salt: number): Uint8Array {
  const b = new Uint8Array(count * 3073);
  for (let i = 0; i < count; i++) {
    b[i * 3073] = (i + salt) % 10;
    b.fill((i * 37 + salt) % 256, i * 3073 + 1, (i + 1) * 3073);
  }
  return b;
}

/** A tar.gz with the official binary layout: cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin + meta. */
async function cifarArchive(dir: string): Promise<Uint8Array> {
  const src = join(dir, 'src');
  await mkdir(join(src, 'cifar-10-batches-bin'), { recursive: true });
  for (let k = 1; k <= 5; k++) await writeFile(join(src, 'cifar-10-batches-bin', `data_batch_${k}.bin`), cifarBatch(4, k));
  await writeFile(join(src, 'cifar-10-batches-bin', 'test_batch.bin'), cifarBatch(3, 0));
  const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  await writeFile(join(src, 'cifar-10-batches-bin', 'batches.meta.txt'), `${names.join('\n')}\n`);
  const file = join(dir, 'cifar-10-binary.tar.gz');
  await createTar({ gzip: true, file, cwd: src }, ['cifar-10-batches-bin']);
  return new Uint8Array(await readFile(file));
}

describe('fetchDataset', () => {
  it('unpacks a CIFAR-10 binary archive into the layout loadDataset reads, once', async () => {
    const archive = await cifarArchive(work);
    server.files.set('/~kriz/cifar-10-binary.tar.gz', { body: archive });
    // The test's registry replaces the shipped cifar10 entry (python version) by the binary one, served by the mirror.
    const env = {
      SMN_CACHE: join(work, 'cache'),
      SMN_MIRROR: server.base,
      SMN_REGISTRY: await writeRegistry(work, {
        cifar10: {
          kind: 'dataset',
          description: 'CIFAR-10 binary version',
          datasets: ['cifar10pgn', 'cifar10', 'multicrop_cifar10'],
          files: [{
            path: 'cifar-10-binary.tar.gz',
            urls: ['https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'],
            checksum: { algo: 'sha256', value: sha256(archive), source: 'the test' },
          }],
          unpack: { format: 'tar.gz', into: 'cifar10', produces: ['cifar-10-batches-bin'] },
        },
      }),
    };
    const root = join(work, 'data');
    const r = await fetchDataset('cifar10', root, { env });
    expect(r).toEqual({ name: 'cifar10', dir: join(root, 'cifar10'), paths: [join(root, 'cifar10', 'cifar-10-batches-bin')], unpacked: true });
    expect(await readdir(join(root, 'cifar10'))).toEqual(['cifar-10-batches-bin']);

    const train = await loadDataset('cifar10', { dataRoot: root, split: 'train' });
    const test = await loadDataset('cifar10', { dataRoot: root, split: 'test' });
    expect([train.length, test.length]).toEqual([20, 3]);
    expect(Array.from(test.labels)).toEqual([0, 1, 2]);
    expect(train.classes[9]).toBe('truck');
    expect((await train.read(4)).data[0]).toBe((0 * 37 + 2) % 256);

    const served = server.log.length;
    expect((await fetchDataset('cifar10', root, { env })).unpacked).toBe(false);
    expect(server.log.length).toBe(served);
    expect(entryForDataset('multicrop_cifar10', { env })).toBe('cifar10');
  });

  it('copies gzipped IDX files as they are (the reader reads .gz), and names an archive that lacks the layout', async () => {
    const gz = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    server.files.set('/idx/a.gz', { body: gz });
    server.files.set('/idx/odd.tar.gz', { body: await cifarArchive(join(work, 'odd')) });
    const env = {
      SMN_CACHE: join(work, 'cache2'),
      SMN_MIRROR: server.base,
      SMN_REGISTRY: await writeRegistry(work, {
        'idx-test': { kind: 'dataset', description: 't', files: [{ path: 'a.gz', urls: ['https://x.org/idx/a.gz'] }], unpack: { format: 'files', into: 'idx', produces: ['a.gz'] } },
        'odd-test': { kind: 'dataset', description: 't', files: [{ path: 'odd.tar.gz', urls: ['https://x.org/idx/odd.tar.gz'] }], unpack: { format: 'tar.gz', into: 'odd', produces: ['cifar-10-batches-py'] } },
      }),
    };
    const root = join(work, 'data2');
    const r = await fetchDataset('idx-test', root, { env });
    expect(sha256(await readFile(r.paths[0]!))).toBe(sha256(gz));
    const err = await caughtAsync(fetchDataset('odd-test', root, { env }));
    expect(err.code).toBe(HubErrorCode.Archive);
    expect(err.message).toContain('odd.tar.gz') ;
    expect(err.message).toContain("does not hold cifar-10-batches-py; its top level has cifar-10-batches-bin");
    expect((await readdir(join(root, 'odd'))).filter((f) => f.startsWith('.smn'))).toEqual([]);
    const notData = await caughtAsync(fetchDataset('swav-resnet50', root, { env }));
    expect(notData.code).toBe(HubErrorCode.Usage);
  });
});
