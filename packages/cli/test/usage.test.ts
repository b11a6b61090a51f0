import { describe, expect, it } from 'vitest';
import { runCliProcess } from './_cli.js';

/** Runs the real `smn` process (bin.ts through tsx), as a user's shell would. */
const smn = (...args: string[]) => runCliProcess(args);

const STACK = /\n\s+at /;

describe('smn: usage errors exit 2 with the usage and no stack trace (real process)', () => {
  it.each(['train', 'cascade', 'pretrain', 'quickstart'])('%s --bogus', async (name) => {
    const r = await smn(name, '--bogus');
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain(`smn: error [SMN_USAGE]: unknown flag '--bogus' for smn ${name}`);
    expect(r.err).toContain(`Usage: smn ${name}`);
    expect(r.err).toContain('--workers N');
    expect(r.err).toContain(`Run 'smn ${name} --help' for the full help.`);
    expect(r.err).not.toContain('unexpected error');
    expect(r.err).not.toMatch(STACK);
    expect(r.out).toBe('');
  });

  it('train --run-dir without a value names the flag', async () => {
    const r = await smn('train', '--config-name', 'submask', '--run-dir');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^smn: error \[SMN_USAGE\]: --run-dir needs a value \(--run-dir DIR\)\n/);
    expect(r.err).toContain('Usage: smn train');
    expect(r.err).not.toMatch(STACK);
  });

  it('a number flag given a non-number names the flag, what it expects and what it got', async () => {
    const r = await smn('pretrain', '--epochs', 'abc');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^smn: error \[SMN_USAGE\]: --epochs expects an integer ≥ 0, got 'abc'\n/);
    expect(r.err).not.toMatch(STACK);
    const w = await smn('train', '--config-name', 'submask', '--workers=1.5');
    expect(w.code).toBe(2);
    expect(w.err).toContain("--workers expects an integer ≥ 0, got '1.5'");
  });

  it('help and help <command> print the overview and the command help (exit 0); help bogus exits 2', async () => {
    const all = await smn('help');
    expect(all.code).toBe(0);
    expect(all.out).toContain('Usage: smn [--backend NAME] <command> [options]');
    expect(all.out).toMatch(/\n {2}train +train a run from a config/);
    expect(all.out).toMatch(/\n {2}help +print this overview/);
    const train = await smn('help', 'train');
    expect(train.code).toBe(0);
    expect(train.out).toContain('Usage: smn train --config-name NAME [OVERRIDES...]');
    expect(train.out).toContain('--run-dir DIR       run folder (default runs/<time>-<config>; with --multirun DIR-<k>)');
    expect(train.out).toContain('https://github.com/smn-js/smn/blob/main/docs/config.md');
    expect(train.out).toContain('Examples:\n  smn train --config-name submask');
    expect((await smn('train', '--help')).out).toBe(train.out);
    const bogus = await smn('help', 'bogus');
    expect(bogus.code).toBe(2);
    expect(bogus.err).toContain("unknown command 'bogus'");
    expect(bogus.err).not.toMatch(STACK);
  });
});
