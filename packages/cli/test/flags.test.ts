import { describe, expect, it } from 'vitest';
import { isSmnError } from '@smn/core';
import { COMMANDS } from '../src/commands.js';
import { defineSpec, parseFlags, renderHelp, renderUsage } from '../src/flags.js';

const SPEC = defineSpec({
  name: 'demo',
  usage: ['smn demo run [OVERRIDES...] [--epochs N]'],
  description: 'A command made up for the tests.',
  subcommands: { run: 'run it', show: 'show it' },
  positionals: [{ name: 'FILE', description: 'an optional file' }],
  overrides: true,
  flags: {
    'config-name': { type: 'string', value: 'NAME', aliases: ['-cn'], description: 'config to start from' },
    'config-dir': { type: 'string', value: 'DIR', multiple: true, description: 'more configs' },
    multirun: { type: 'boolean', aliases: ['-m'], description: 'sweep' },
    epochs: { type: 'number', integer: true, min: 1, default: 3, description: 'epochs\nof training' },
    scale: { type: 'number', value: 'X', above: 0, description: 'a scale' },
    method: { type: 'string', value: 'M', choices: ['gmm', 'kmeans'], default: 'gmm', description: 'how', group: 'Clustering' },
  },
  sections: [{ title: 'Example', text: '  smn demo run a=1' }],
});

/** The message of the usage error `parseFlags` throws for argv. */
function usageMessage(argv: string[]): string {
  try {
    parseFlags(SPEC, argv);
  } catch (err) {
    if (isSmnError(err) && err.kind === 'usage' && err.code === 'SMN_USAGE') return err.message;
    throw err;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

describe('parseFlags', () => {
  it('reads every spelling into typed values, with defaults, and keeps overrides apart', () => {
    const r = parseFlags(SPEC, ['-cn', 'submask', 'run', 'dl.lr=0.1,0.2', '--config-dir', 'a', '--config-dir=b', '-m', '--epochs=7', '+x=1', '~y', 'f.npy']);
    expect(r).toEqual({
      flags: { 'config-name': 'submask', 'config-dir': ['a', 'b'], multirun: true, epochs: 7, method: 'gmm' },
      subcommand: 'run',
      positionals: ['f.npy'],
      overrides: ['dl.lr=0.1,0.2', '+x=1', '~y'],
    });
    const d = parseFlags(SPEC, ['show', '--config-name=a=b', '--scale', '0.5', '--', '-not-a-flag', 'k=v']);
    expect(d.flags).toEqual({ 'config-name': 'a=b', 'config-dir': [], multirun: false, epochs: 3, scale: 0.5, method: 'gmm' });
    expect(d.positionals).toEqual(['-not-a-flag']);
    expect(d.overrides).toEqual(['k=v']);
  });

  it('takes a value that starts with a single dash unless it is one of the flags', () => {
    expect(parseFlags(SPEC, ['run', '--config-name', '-x']).flags['config-name']).toBe('-x');
    expect(usageMessage(['run', '--config-name', '-m'])).toBe(
      "--config-name needs a value (--config-name NAME), found the flag '-m'; write --config-name=-m for a value that starts with '-'",
    );
  });

  it('names the flag, what it expects and what it found', () => {
    expect(usageMessage(['run', '--bogus'])).toBe("unknown flag '--bogus' for smn demo");
    expect(usageMessage(['run', '--epoch', '2'])).toBe("unknown flag '--epoch' for smn demo; did you mean --epochs?");
    expect(usageMessage(['run', '--epochs'])).toBe('--epochs needs a value (--epochs N)');
    expect(usageMessage(['run', '--epochs', 'abc'])).toBe("--epochs expects an integer ≥ 1, got 'abc'");
    expect(usageMessage(['run', '--epochs', '2.5'])).toBe("--epochs expects an integer ≥ 1, got '2.5'");
    expect(usageMessage(['run', '--epochs='])).toBe("--epochs expects an integer ≥ 1, got ''");
    expect(usageMessage(['run', '--scale', '0'])).toBe("--scale expects a number > 0, got '0'");
    expect(usageMessage(['run', '--method', 'pca'])).toBe("--method expects one of gmm, kmeans, got 'pca'");
    expect(usageMessage(['run', '--multirun=1'])).toBe("--multirun is a switch and takes no value, found '--multirun=1'; drop '=1'");
    expect(usageMessage([])).toBe("smn demo needs a subcommand: 'run' or 'show'");
    expect(usageMessage(['walk'])).toBe("unknown subcommand 'walk' for smn demo; expected 'run' or 'show'");
    expect(usageMessage(['run', 'a', 'b'])).toBe("unexpected argument 'b': overrides look like key=value");
  });

  it('requires the positionals marked required', () => {
    const spec = defineSpec({ name: 'one', usage: ['smn one FILE'], positionals: [{ name: 'FILE', description: 'a file', required: true }], flags: {} });
    expect(parseFlags(spec, ['x']).positionals).toEqual(['x']);
    expect(() => parseFlags(spec, [])).toThrow('smn one needs FILE');
  });
});

describe('renderHelp / renderUsage', () => {
  it('render the declaration: groups, defaults, other spellings, free text', () => {
    expect(renderHelp(SPEC)).toMatchInlineSnapshot(`
      "Usage: smn demo run [OVERRIDES...] [--epochs N]

      A command made up for the tests.

      Subcommands:
        run                 run it
        show                show it

      Arguments:
        FILE                an optional file

      Options:
        --config-name NAME  config to start from (also --config-name=NAME, -cn NAME)
        --config-dir DIR    more configs
        --multirun          sweep (also -m)
        --epochs N          epochs
                            of training (default 3)
        --scale X           a scale

      Clustering:
        --method M          how (default gmm)

      Example:
        smn demo run a=1"
    `);
    const usage = renderUsage(SPEC);
    expect(usage).toContain('Options:\n  --config-name NAME');
    expect(usage).not.toContain('A command made up');
    expect(usage).not.toContain('Example:');
    expect(usage.endsWith("Run 'smn demo --help' for the full help.")).toBe(true);
  });

  it("every command's synopsis names only flags its option list declares", async () => {
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const cmd = (await entry.load()).default;
      const [synopsis, ...rest] = cmd.help.split('\n\n');
      const listed = new Set([...rest.join('\n').matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]));
      for (const [flag] of synopsis!.matchAll(/--[a-z][a-z-]*/g)) expect(listed, `smn ${name}: ${flag}`).toContain(flag);
      expect(cmd.usage.startsWith(synopsis!), name).toBe(true);
      expect(cmd.help, name).not.toMatch(/(?<!\/)docs\/[a-z-]+\.md/);
    }
  });
});
