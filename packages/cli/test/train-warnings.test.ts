// A dataset warning reaches the user of smn train as one `smn: warning [CODE]` line, not as Node's process warning.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSolidPng } from '../../datasets/test/_images.js';
import { runCliProcess } from './_cli.js';

describe('smn train on an image folder holding a FIFO', () => {
  it('skips the FIFO, says so once as smn: warning [SMN_DATA_NOT_REGULAR], and trains', { timeout: 300_000 }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'smn-warn-'));
    const images = join(root, 'imgs');
    for (const split of ['train', 'test']) {
      for (const [k, cls] of ['a', 'b'].entries()) {
        mkdirSync(join(images, split, cls), { recursive: true });
        for (let i = 0; i < 4; i++) await writeSolidPng(join(images, split, cls, `${i}.png`), 20 + 180 * k + i, 32);
      }
    }
    // A named pipe with no writer: opening it the plain way would block forever.
    execFileSync('mkfifo', [join(images, 'train', 'a', 'x.png')]);
    const r = await runCliProcess([
      '--backend', 'cpu', 'train', '--config-name', 'submask', `main.dataset=folder:${images}`, 'model.pret.name=embedded',
      'dl.epochs=1', 'dl.scheduler=cosine', 'dl.batch_size=8', '--run-dir', join(root, 'run'),
    ]);
    expect(r.code, r.err).toBe(0);
    const warnings = r.err.split('\n').filter((l) => l.includes('SMN_DATA_NOT_REGULAR'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^smn: warning \[SMN_DATA_NOT_REGULAR\]: .*train\/a\/x\.png \(a FIFO/);
    expect(r.err).not.toContain('SmnWarning');
    expect(r.out).toContain('training/test/accuracy');
  });
});
